//! `team-members/<projectId>/<tmId>.json` (custom members) and
//! `team-members/<projectId>/<tmId>.override.json` (partial overrides of built-in members).
//!
//! Unlike the original (no cache, a disk read per call and unlocked read-modify-write of
//! override files, DEFECTS R2), both kinds are cached like every other record and writers are
//! serialised per project.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use maestro_domain::model::{JsonObject, TeamMember};
use maestro_domain::ports::{Mutator, TeamMemberRepo};
use maestro_domain::{DomainError, Result};

use super::{read, run_locked, write};
use crate::dirlock::DirLock;
use crate::durable::{ensure_dir, remove_durable, sync_dir, to_json, write_atomic};
use crate::error::FsError;
use crate::keylocks::KeyLocks;
use crate::layout::{Layout, SafeId};

/// Custom members and overrides, each by project id then member id.
#[derive(Debug, Default)]
pub(crate) struct TeamState {
    pub(crate) members: HashMap<String, HashMap<String, TeamMember>>,
    pub(crate) overrides: HashMap<String, HashMap<String, JsonObject>>,
}

impl TeamState {
    fn member(&self, project_id: &str, id: &str) -> Option<&TeamMember> {
        self.members.get(project_id)?.get(id)
    }

    fn overrides_of(&self, project_id: &str, id: &str) -> Option<&JsonObject> {
        self.overrides.get(project_id)?.get(id)
    }

    pub(crate) fn put_member(&mut self, m: TeamMember) {
        self.members
            .entry(m.project_id.clone())
            .or_default()
            .insert(m.id.clone(), m);
    }

    pub(crate) fn put_override(&mut self, project_id: &str, id: &str, o: JsonObject) {
        self.overrides
            .entry(project_id.to_string())
            .or_default()
            .insert(id.to_string(), o);
    }

    fn remove_member(&mut self, project_id: &str, id: &str) {
        if let Some(m) = self.members.get_mut(project_id) {
            m.remove(id);
            if m.is_empty() {
                self.members.remove(project_id);
            }
        }
    }

    fn remove_override(&mut self, project_id: &str, id: &str) {
        if let Some(m) = self.overrides.get_mut(project_id) {
            m.remove(id);
            if m.is_empty() {
                self.overrides.remove(project_id);
            }
        }
    }

    pub(crate) fn member_count(&self) -> usize {
        self.members.values().map(HashMap::len).sum()
    }

    pub(crate) fn override_count(&self) -> usize {
        self.overrides.values().map(HashMap::len).sum()
    }
}

/// The team-member repository.
#[derive(Debug)]
pub(crate) struct TeamMembers {
    layout: Layout,
    data: Arc<RwLock<TeamState>>,
    locks: KeyLocks,
    _dir_lock: Arc<DirLock>,
}

impl TeamMembers {
    pub(crate) fn new(layout: Layout, data: TeamState, dir_lock: Arc<DirLock>) -> Self {
        Self {
            layout,
            data: Arc::new(RwLock::new(data)),
            locks: KeyLocks::default(),
            _dir_lock: dir_lock,
        }
    }
}

fn ids<'a>(project_id: &'a str, id: &'a str) -> Result<(SafeId<'a>, SafeId<'a>)> {
    Ok((
        SafeId::new("projectId", project_id)?,
        SafeId::new("id", id)?,
    ))
}

#[async_trait]
impl TeamMemberRepo for TeamMembers {
    async fn create(&self, member: TeamMember) -> Result<TeamMember> {
        let (pid, id) = ids(&member.project_id, &member.id)?;
        let dir = self.layout.team_member_project_dir(pid);
        let path = self.layout.team_member_file(pid, id);
        let guard = self.locks.lock(&member.project_id).await;
        if read(&self.data)
            .member(&member.project_id, &member.id)
            .is_some()
        {
            return Err(DomainError::Conflict(format!(
                "Team member with id '{}' already exists",
                member.id
            )));
        }
        let bytes = to_json(&member, "TeamMember")?;
        let data = Arc::clone(&self.data);
        let stored = member.clone();
        run_locked(guard, move || {
            ensure_dir(&dir)?;
            write_atomic(&path, &bytes)?;
            write(&data).put_member(stored);
            Ok(())
        })
        .await?;
        Ok(member)
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<TeamMember>> {
        ids(project_id, id)?;
        Ok(read(&self.data).member(project_id, id).cloned())
    }

    async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        SafeId::new("projectId", project_id)?;
        let mut out: Vec<TeamMember> = read(&self.data)
            .members
            .get(project_id)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        out.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    async fn update<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, TeamMember>,
    ) -> Result<TeamMember> {
        let (pid, sid) = ids(project_id, id)?;
        let dir = self.layout.team_member_project_dir(pid);
        let path = self.layout.team_member_file(pid, sid);
        let guard = self.locks.lock(project_id).await;
        let before = read(&self.data)
            .member(project_id, id)
            .cloned()
            .ok_or_else(|| DomainError::not_found("Team member", id))?;
        let mut after = before.clone();
        change(&mut after)?;
        if after == before {
            return Ok(after);
        }
        if after.id != before.id {
            return Err(DomainError::invalid_field("id", "id cannot be changed"));
        }
        if after.project_id != before.project_id {
            return Err(DomainError::invalid_field(
                "projectId",
                "projectId cannot be changed",
            ));
        }
        let bytes = to_json(&after, "TeamMember")?;
        let data = Arc::clone(&self.data);
        let stored = after.clone();
        run_locked(guard, move || {
            ensure_dir(&dir)?;
            write_atomic(&path, &bytes)?;
            write(&data).put_member(stored);
            Ok(())
        })
        .await?;
        Ok(after)
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        let (pid, sid) = ids(project_id, id)?;
        let path = self.layout.team_member_file(pid, sid);
        let guard = self.locks.lock(project_id).await;
        if read(&self.data).member(project_id, id).is_none() {
            return Ok(false);
        }
        let data = Arc::clone(&self.data);
        let (project_id, id) = (project_id.to_string(), id.to_string());
        run_locked(guard, move || {
            remove_durable(&path)?;
            write(&data).remove_member(&project_id, &id);
            Ok(true)
        })
        .await
    }

    async fn get_override(&self, project_id: &str, id: &str) -> Result<Option<JsonObject>> {
        ids(project_id, id)?;
        Ok(read(&self.data).overrides_of(project_id, id).cloned())
    }

    async fn update_override<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, JsonObject>,
    ) -> Result<JsonObject> {
        let (pid, sid) = ids(project_id, id)?;
        let dir = self.layout.team_member_project_dir(pid);
        let path = self.layout.override_file(pid, sid);
        let guard = self.locks.lock(project_id).await;
        let before = read(&self.data).overrides_of(project_id, id).cloned();
        let mut after = before.clone().unwrap_or_default();
        change(&mut after)?;
        if before.as_ref().unwrap_or(&JsonObject::new()) == &after {
            return Ok(after);
        }
        let bytes = to_json(&after, "team member override")?;
        let data = Arc::clone(&self.data);
        let stored = after.clone();
        let (project_id, id) = (project_id.to_string(), id.to_string());
        run_locked(guard, move || {
            ensure_dir(&dir)?;
            write_atomic(&path, &bytes)?;
            write(&data).put_override(&project_id, &id, stored);
            Ok(())
        })
        .await?;
        Ok(after)
    }

    async fn delete_override(&self, project_id: &str, id: &str) -> Result<bool> {
        let (pid, sid) = ids(project_id, id)?;
        let path = self.layout.override_file(pid, sid);
        let guard = self.locks.lock(project_id).await;
        if read(&self.data).overrides_of(project_id, id).is_none() {
            return Ok(false);
        }
        let data = Arc::clone(&self.data);
        let (project_id, id) = (project_id.to_string(), id.to_string());
        run_locked(guard, move || {
            remove_durable(&path)?;
            write(&data).remove_override(&project_id, &id);
            Ok(true)
        })
        .await
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        let pid = SafeId::new("projectId", project_id)?;
        let guard = self.locks.lock(project_id).await;
        let (members, overrides): (Vec<String>, Vec<String>) = {
            let state = read(&self.data);
            (
                state
                    .members
                    .get(project_id)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default(),
                state
                    .overrides
                    .get(project_id)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default(),
            )
        };
        let layout = self.layout.clone();
        let dir = layout.team_member_project_dir(pid);
        let data = Arc::clone(&self.data);
        let project_id = project_id.to_string();
        run_locked(guard, move || {
            let Some(pid) = SafeId::check(&project_id) else {
                return Ok(());
            };
            for id in &members {
                if let Some(sid) = SafeId::check(id) {
                    remove_durable(&layout.team_member_file(pid, sid))?;
                }
                write(&data).remove_member(&project_id, id);
            }
            for id in &overrides {
                if let Some(sid) = SafeId::check(id) {
                    remove_durable(&layout.override_file(pid, sid))?;
                }
                write(&data).remove_override(&project_id, id);
            }
            // The folder goes too unless something we do not own (e.g. a `.corrupt` copy)
            // is still in it.
            match fs::remove_dir(&dir) {
                Ok(()) => sync_dir(&layout.team_members_dir())?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "team-member folder kept");
                }
            }
            Ok::<(), FsError>(())
        })
        .await
    }
}
