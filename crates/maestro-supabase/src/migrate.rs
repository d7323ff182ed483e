//! The FileSystem → Supabase migration (seed 000 "Migration Path"): every record of a data
//! directory is copied through the target's own repositories.
//!
//! Idempotent: a record missing from the target is created, one that differs is overwritten
//! with the source version, an equal one is left alone — so a second run changes nothing.
//! With `dry_run` nothing is written and the report says what would happen.

use std::collections::BTreeSet;

use maestro_domain::Result;
use maestro_domain::builtin::DEFAULT_MEMBER_TYPES;
use maestro_domain::model::EntityType;
use maestro_domain::ports::{SessionFilter, TaskFilter};
use maestro_domain::services::Repositories;

/// The kinds of records the migration copies, in copy order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    Projects,
    Tasks,
    Sessions,
    Mail,
    TeamMembers,
    TeamMemberOverrides,
    Orderings,
}

impl Entity {
    pub const ALL: [Entity; 7] = [
        Entity::Projects,
        Entity::Tasks,
        Entity::Sessions,
        Entity::Mail,
        Entity::TeamMembers,
        Entity::TeamMemberOverrides,
        Entity::Orderings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Projects => "projects",
            Entity::Tasks => "tasks",
            Entity::Sessions => "sessions",
            Entity::Mail => "mail",
            Entity::TeamMembers => "team members",
            Entity::TeamMemberOverrides => "team member overrides",
            Entity::Orderings => "orderings",
        }
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Counts of one entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityCounts {
    /// Records in the source.
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl EntityCounts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// The final count per entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub dry_run: bool,
    /// One entry per [`Entity`], in [`Entity::ALL`] order.
    pub counts: Vec<(Entity, EntityCounts)>,
}

impl MigrationReport {
    pub fn get(&self, entity: Entity) -> EntityCounts {
        self.counts
            .iter()
            .find(|(e, _)| *e == entity)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    /// Records created or updated (or that would be, in a dry run).
    pub fn changed(&self) -> usize {
        self.counts.iter().map(|(_, c)| c.created + c.updated).sum()
    }

    fn entry(&mut self, entity: Entity) -> &mut EntityCounts {
        if let Some(i) = self.counts.iter().position(|(e, _)| *e == entity) {
            return &mut self.counts[i].1;
        }
        self.counts.push((entity, EntityCounts::default()));
        let last = self.counts.len() - 1;
        &mut self.counts[last].1
    }
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dry_run {
            writeln!(f, "dry run: nothing was written")?;
        }
        writeln!(
            f,
            "{:<22} {:>7} {:>7} {:>7} {:>9}",
            "entity", "total", "created", "updated", "unchanged"
        )?;
        for (e, c) in &self.counts {
            writeln!(
                f,
                "{:<22} {:>7} {:>7} {:>7} {:>9}",
                e.as_str(),
                c.total,
                c.created,
                c.updated,
                c.unchanged
            )?;
        }
        Ok(())
    }
}

/// Progress after each record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress<'a> {
    pub entity: Entity,
    /// Records of this entity handled so far (1-based).
    pub done: usize,
    pub total: usize,
    pub id: &'a str,
    pub outcome: Outcome,
}

/// Creates `wanted` when `existing` is `None`, overwrites it when it differs.
async fn sync<T: PartialEq>(
    existing: Option<T>,
    wanted: &T,
    dry_run: bool,
    create: impl AsyncFnOnce() -> Result<()>,
    overwrite: impl AsyncFnOnce() -> Result<()>,
) -> Result<Outcome> {
    match existing {
        None => {
            if !dry_run {
                create().await?;
            }
            Ok(Outcome::Created)
        }
        Some(e) if e == *wanted => Ok(Outcome::Unchanged),
        Some(_) => {
            if !dry_run {
                overwrite().await?;
            }
            Ok(Outcome::Updated)
        }
    }
}

/// Copies one entity's `records`: each is read from the target by `existing`, then created
/// when missing or overwritten when different (nothing is written in a dry run).
#[allow(clippy::too_many_arguments)]
async fn copy_entity<T: Clone + PartialEq>(
    report: &mut MigrationReport,
    step: &mut impl FnMut(&mut MigrationReport, Entity, usize, usize, &str, Outcome),
    entity: Entity,
    records: &[T],
    dry_run: bool,
    id: impl Fn(&T) -> String,
    existing: impl AsyncFn(&T) -> Result<Option<T>>,
    create: impl AsyncFn(&T) -> Result<()>,
    overwrite: impl AsyncFn(&T) -> Result<()>,
) -> Result<()> {
    report.entry(entity).total = records.len();
    for (i, record) in records.iter().enumerate() {
        let found = existing(record).await?;
        let outcome = sync(
            found,
            record,
            dry_run,
            async || create(record).await,
            async || overwrite(record).await,
        )
        .await?;
        step(report, entity, i + 1, records.len(), &id(record), outcome);
    }
    Ok(())
}

/// Overwrites a record through a repository's atomic `update` with `wanted`.
async fn replace<T: Clone + Send + Sync>(
    update: impl AsyncFnOnce(maestro_domain::ports::Mutator<'_, T>) -> Result<T>,
    wanted: &T,
) -> Result<()> {
    update(&|x: &mut T| {
        *x = wanted.clone();
        Ok(())
    })
    .await
    .map(drop)
}

/// The migration between any two stores; `extra_project_ids` adds projects whose team
/// members or orderings should be looked for although no project, task or session names them.
pub async fn migrate(
    source: &Repositories,
    target: &Repositories,
    extra_project_ids: &[String],
    dry_run: bool,
    mut progress: impl FnMut(&Progress<'_>),
) -> Result<MigrationReport> {
    let mut report = MigrationReport {
        dry_run,
        counts: Entity::ALL
            .iter()
            .map(|e| (*e, EntityCounts::default()))
            .collect(),
    };
    let mut step = |report: &mut MigrationReport, entity, done, total, id: &str, outcome| {
        report.entry(entity).add(outcome);
        progress(&Progress {
            entity,
            done,
            total,
            id,
            outcome,
        });
    };

    let mut project_ids = copy_records(source, target, &mut report, &mut step, dry_run).await?;
    project_ids.extend(extra_project_ids.iter().cloned());
    copy_project_parts(
        source,
        target,
        &project_ids,
        &mut report,
        &mut step,
        dry_run,
    )
    .await?;
    Ok(report)
}

/// Copies projects, tasks, sessions and mail; returns every project id they name.
async fn copy_records(
    source: &Repositories,
    target: &Repositories,
    report: &mut MigrationReport,
    step: &mut impl FnMut(&mut MigrationReport, Entity, usize, usize, &str, Outcome),
    dry_run: bool,
) -> Result<BTreeSet<String>> {
    let projects = source.projects.list().await?;
    let tasks = source.tasks.list(&TaskFilter::default()).await?;
    let sessions = source.sessions.list(&SessionFilter::default()).await?;
    let mail = source.mail.list(None).await?;
    let mut project_ids: BTreeSet<String> = projects.iter().map(|p| p.id.clone()).collect();
    project_ids.extend(tasks.iter().map(|t| t.project_id.clone()));
    project_ids.extend(sessions.iter().map(|s| s.project_id.clone()));
    project_ids.extend(mail.iter().map(|m| m.project_id.clone()));

    copy_entity(
        report,
        step,
        Entity::Projects,
        &projects,
        dry_run,
        |p| p.id.clone(),
        async |p| target.projects.get(&p.id).await,
        async |p| target.projects.create(p.clone()).await.map(drop),
        async |p| replace(async |f| target.projects.update(&p.id, f).await, p).await,
    )
    .await?;
    copy_entity(
        report,
        step,
        Entity::Tasks,
        &tasks,
        dry_run,
        |t| t.id.clone(),
        async |t| target.tasks.get(&t.id).await,
        async |t| target.tasks.create(t.clone()).await.map(drop),
        async |t| replace(async |f| target.tasks.update(&t.id, f).await, t).await,
    )
    .await?;
    copy_entity(
        report,
        step,
        Entity::Sessions,
        &sessions,
        dry_run,
        |s| s.id.clone(),
        async |s| target.sessions.get(&s.id).await,
        async |s| target.sessions.create(s.clone()).await.map(drop),
        async |s| replace(async |f| target.sessions.update(&s.id, f).await, s).await,
    )
    .await?;
    copy_entity(
        report,
        step,
        Entity::Mail,
        &mail,
        dry_run,
        |m| m.id.clone(),
        async |m| target.mail.get(&m.id).await,
        async |m| target.mail.create(m.clone()).await.map(drop),
        // Mail is immutable in the port: replace it.
        async |m| {
            target.mail.delete(&m.id).await?;
            target.mail.create(m.clone()).await.map(drop)
        },
    )
    .await?;

    Ok(project_ids)
}

// About 80 lines: three per-project copies in their order (members, overrides, orderings).
/// Copies each project's team members, default-member overrides and orderings.
async fn copy_project_parts(
    source: &Repositories,
    target: &Repositories,
    project_ids: &BTreeSet<String>,
    report: &mut MigrationReport,
    step: &mut impl FnMut(&mut MigrationReport, Entity, usize, usize, &str, Outcome),
    dry_run: bool,
) -> Result<()> {
    let mut members = Vec::new();
    let mut overrides = Vec::new();
    let mut orderings = Vec::new();
    for p in project_ids {
        members.extend(source.team_members.list(p).await?);
        for kind in DEFAULT_MEMBER_TYPES {
            let id = format!("tm_{p}_{kind}");
            if let Some(o) = source.team_members.get_override(p, &id).await? {
                overrides.push((p.clone(), id, o));
            }
        }
        for entity in EntityType::ALL {
            if let Some(o) = source.orderings.get(p, *entity).await? {
                orderings.push(o);
            }
        }
    }

    copy_entity(
        report,
        step,
        Entity::TeamMembers,
        &members,
        dry_run,
        |m| m.id.clone(),
        async |m| target.team_members.get(&m.project_id, &m.id).await,
        async |m| target.team_members.create(m.clone()).await.map(drop),
        async |m| {
            replace(
                async |f| target.team_members.update(&m.project_id, &m.id, f).await,
                m,
            )
            .await
        },
    )
    .await?;

    report.entry(Entity::TeamMemberOverrides).total = overrides.len();
    for (i, (p, id, o)) in overrides.iter().enumerate() {
        let existing = target.team_members.get_override(p, id).await?;
        let write = async || {
            target
                .team_members
                .update_override(p, id, &|x| {
                    *x = o.clone();
                    Ok(())
                })
                .await
                .map(drop)
        };
        let outcome = sync(existing, o, dry_run, write, write).await?;
        step(
            report,
            Entity::TeamMemberOverrides,
            i + 1,
            overrides.len(),
            id,
            outcome,
        );
    }

    copy_entity(
        report,
        step,
        Entity::Orderings,
        &orderings,
        dry_run,
        |o| format!("{}:{}", o.entity_type, o.project_id),
        async |o| target.orderings.get(&o.project_id, o.entity_type).await,
        async |o| target.orderings.save(o.clone()).await.map(drop),
        async |o| target.orderings.save(o.clone()).await.map(drop),
    )
    .await?;

    Ok(())
}
