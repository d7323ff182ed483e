//! The FileSystem → Supabase migration (seed 000 "Migration Path"): every record of a data
//! directory is copied through the target's own repositories.
//!
//! Idempotent: a record missing from the target is created, one that differs is overwritten
//! with the source version, an equal one is left alone — so a second run changes nothing.
//! With `dry_run` nothing is written and the report says what would happen.

use std::collections::BTreeSet;
use std::path::Path;

use maestro_domain::Result;
use maestro_domain::builtin::DEFAULT_MEMBER_TYPES;
use maestro_domain::model::EntityType;
use maestro_domain::ports::{SessionFilter, TaskFilter};
use maestro_domain::services::Repositories;
use maestro_fs::FsStore;

use crate::repos::SupabaseRepos;

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

/// Project ids that only the directory layout reveals: `team-members/<projectId>/` and
/// `ordering/{task,session}/<projectId>.json` (their projects may be gone).
fn project_ids_on_disk(data_dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    let names = |dir: &Path| -> Vec<std::fs::DirEntry> {
        std::fs::read_dir(dir)
            .map(|it| it.flatten().collect())
            .unwrap_or_default()
    };
    for e in names(&data_dir.join("team-members")) {
        if e.path().is_dir()
            && let Some(n) = e.file_name().to_str()
        {
            ids.push(n.to_owned());
        }
    }
    for kind in ["task", "session"] {
        for e in names(&data_dir.join("ordering").join(kind)) {
            if let Some(stem) = e.file_name().to_str().and_then(|n| n.strip_suffix(".json")) {
                ids.push(stem.to_owned());
            }
        }
    }
    ids
}

/// Copies the data directory opened as `source` into `target` (see the module docs).
/// `progress` is called after each record.
pub async fn migrate_fs_to_supabase(
    source: &FsStore,
    target: &SupabaseRepos,
    dry_run: bool,
    progress: impl FnMut(&Progress<'_>),
) -> Result<MigrationReport> {
    let extra = project_ids_on_disk(source.data_dir());
    migrate(
        &source.repositories(),
        &target.repositories(),
        &extra,
        dry_run,
        progress,
    )
    .await
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

    let projects = source.projects.list().await?;
    let tasks = source.tasks.list(&TaskFilter::default()).await?;
    let sessions = source.sessions.list(&SessionFilter::default()).await?;
    let mail = source.mail.list(None).await?;
    let mut project_ids: BTreeSet<String> = projects.iter().map(|p| p.id.clone()).collect();
    project_ids.extend(tasks.iter().map(|t| t.project_id.clone()));
    project_ids.extend(sessions.iter().map(|s| s.project_id.clone()));
    project_ids.extend(mail.iter().map(|m| m.project_id.clone()));
    project_ids.extend(extra_project_ids.iter().cloned());

    report.entry(Entity::Projects).total = projects.len();
    for (i, p) in projects.iter().enumerate() {
        let existing = target.projects.get(&p.id).await?;
        let outcome = sync(
            existing,
            p,
            dry_run,
            async || target.projects.create(p.clone()).await.map(drop),
            async || {
                target
                    .projects
                    .update(&p.id, &|x| {
                        *x = p.clone();
                        Ok(())
                    })
                    .await
                    .map(drop)
            },
        )
        .await?;
        step(
            &mut report,
            Entity::Projects,
            i + 1,
            projects.len(),
            &p.id,
            outcome,
        );
    }

    report.entry(Entity::Tasks).total = tasks.len();
    for (i, t) in tasks.iter().enumerate() {
        let existing = target.tasks.get(&t.id).await?;
        let outcome = sync(
            existing,
            t,
            dry_run,
            async || target.tasks.create(t.clone()).await.map(drop),
            async || {
                target
                    .tasks
                    .update(&t.id, &|x| {
                        *x = t.clone();
                        Ok(())
                    })
                    .await
                    .map(drop)
            },
        )
        .await?;
        step(
            &mut report,
            Entity::Tasks,
            i + 1,
            tasks.len(),
            &t.id,
            outcome,
        );
    }

    report.entry(Entity::Sessions).total = sessions.len();
    for (i, s) in sessions.iter().enumerate() {
        let existing = target.sessions.get(&s.id).await?;
        let outcome = sync(
            existing,
            s,
            dry_run,
            async || target.sessions.create(s.clone()).await.map(drop),
            async || {
                target
                    .sessions
                    .update(&s.id, &|x| {
                        *x = s.clone();
                        Ok(())
                    })
                    .await
                    .map(drop)
            },
        )
        .await?;
        step(
            &mut report,
            Entity::Sessions,
            i + 1,
            sessions.len(),
            &s.id,
            outcome,
        );
    }

    report.entry(Entity::Mail).total = mail.len();
    for (i, m) in mail.iter().enumerate() {
        let existing = target.mail.get(&m.id).await?;
        let outcome = sync(
            existing,
            m,
            dry_run,
            async || target.mail.create(m.clone()).await.map(drop),
            // Mail is immutable in the port: replace it.
            async || {
                target.mail.delete(&m.id).await?;
                target.mail.create(m.clone()).await.map(drop)
            },
        )
        .await?;
        step(&mut report, Entity::Mail, i + 1, mail.len(), &m.id, outcome);
    }

    let mut members = Vec::new();
    let mut overrides = Vec::new();
    let mut orderings = Vec::new();
    for p in &project_ids {
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

    report.entry(Entity::TeamMembers).total = members.len();
    for (i, m) in members.iter().enumerate() {
        let existing = target.team_members.get(&m.project_id, &m.id).await?;
        let outcome = sync(
            existing,
            m,
            dry_run,
            async || target.team_members.create(m.clone()).await.map(drop),
            async || {
                target
                    .team_members
                    .update(&m.project_id, &m.id, &|x| {
                        *x = m.clone();
                        Ok(())
                    })
                    .await
                    .map(drop)
            },
        )
        .await?;
        step(
            &mut report,
            Entity::TeamMembers,
            i + 1,
            members.len(),
            &m.id,
            outcome,
        );
    }

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
            &mut report,
            Entity::TeamMemberOverrides,
            i + 1,
            overrides.len(),
            id,
            outcome,
        );
    }

    report.entry(Entity::Orderings).total = orderings.len();
    for (i, o) in orderings.iter().enumerate() {
        let existing = target.orderings.get(&o.project_id, o.entity_type).await?;
        let write = async || target.orderings.save(o.clone()).await.map(drop);
        let outcome = sync(existing, o, dry_run, write, write).await?;
        let id = format!("{}:{}", o.entity_type, o.project_id);
        step(
            &mut report,
            Entity::Orderings,
            i + 1,
            orderings.len(),
            &id,
            outcome,
        );
    }

    Ok(report)
}
