//! [`MemoryTeamMemberRepo`].

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use maestro_domain::model::{JsonObject, TeamMember};
use maestro_domain::ports::{Mutator, TeamMemberRepo};
use maestro_domain::{DomainError, Result};

const RESOURCE: &str = "Team member";

/// What one project holds.
#[derive(Default)]
struct ProjectTeam {
    /// Custom members by id.
    members: HashMap<String, TeamMember>,
    /// Override objects of built-in members by member id.
    overrides: HashMap<String, JsonObject>,
}

impl ProjectTeam {
    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.overrides.is_empty()
    }
}

/// Custom team members and overrides of built-in members, keyed by (projectId, id).
///
/// Listings hold custom members only, sorted by the `createdAt` string then id. Overrides are
/// separate objects: `update_override` starts from `{}` when there is none.
#[derive(Default)]
pub struct MemoryTeamMemberRepo {
    projects: RwLock<HashMap<String, ProjectTeam>>,
}

impl MemoryTeamMemberRepo {
    pub fn new() -> Self {
        Self::default()
    }

    // Writers commit only a fully built clone, so a poisoned lock is consistent.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, ProjectTeam>> {
        self.projects.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, ProjectTeam>> {
        self.projects
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the entry of a project that holds nothing any more.
    fn prune(projects: &mut HashMap<String, ProjectTeam>, project_id: &str) {
        if projects.get(project_id).is_some_and(ProjectTeam::is_empty) {
            projects.remove(project_id);
        }
    }
}

#[async_trait]
impl TeamMemberRepo for MemoryTeamMemberRepo {
    async fn create(&self, member: TeamMember) -> Result<TeamMember> {
        let mut projects = self.write();
        let team = projects.entry(member.project_id.clone()).or_default();
        if team.members.contains_key(&member.id) {
            return Err(DomainError::Conflict(format!(
                "{RESOURCE} with id '{}' already exists in project '{}'",
                member.id, member.project_id
            )));
        }
        team.members.insert(member.id.clone(), member.clone());
        Ok(member)
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<TeamMember>> {
        Ok(self
            .read()
            .get(project_id)
            .and_then(|team| team.members.get(id))
            .cloned())
    }

    async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        let mut members: Vec<TeamMember> = self
            .read()
            .get(project_id)
            .map(|team| team.members.values().cloned().collect())
            .unwrap_or_default();
        members.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
        Ok(members)
    }

    async fn update<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, TeamMember>,
    ) -> Result<TeamMember> {
        let mut projects = self.write();
        let Some(current) = projects
            .get_mut(project_id)
            .and_then(|team| team.members.get_mut(id))
        else {
            return Err(DomainError::not_found(RESOURCE, id));
        };
        let mut next = current.clone();
        change(&mut next)?;
        if next == *current {
            return Ok(next);
        }
        if next.id != id || next.project_id != project_id {
            return Err(DomainError::Internal(format!(
                "an update of {RESOURCE} '{project_id}/{id}' tried to move it to '{}/{}'",
                next.project_id, next.id
            )));
        }
        *current = next.clone();
        Ok(next)
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        let mut projects = self.write();
        let deleted = projects
            .get_mut(project_id)
            .is_some_and(|team| team.members.remove(id).is_some());
        Self::prune(&mut projects, project_id);
        Ok(deleted)
    }

    async fn get_override(&self, project_id: &str, id: &str) -> Result<Option<JsonObject>> {
        Ok(self
            .read()
            .get(project_id)
            .and_then(|team| team.overrides.get(id))
            .cloned())
    }

    async fn update_override<'a>(
        &self,
        project_id: &str,
        id: &str,
        change: Mutator<'a, JsonObject>,
    ) -> Result<JsonObject> {
        let mut projects = self.write();
        let current = projects
            .get(project_id)
            .and_then(|team| team.overrides.get(id));
        let mut next = current.cloned().unwrap_or_default();
        change(&mut next)?;
        if current == Some(&next) {
            return Ok(next);
        }
        projects
            .entry(project_id.to_owned())
            .or_default()
            .overrides
            .insert(id.to_owned(), next.clone());
        Ok(next)
    }

    async fn delete_override(&self, project_id: &str, id: &str) -> Result<bool> {
        let mut projects = self.write();
        let deleted = projects
            .get_mut(project_id)
            .is_some_and(|team| team.overrides.remove(id).is_some());
        Self::prune(&mut projects, project_id);
        Ok(deleted)
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.write().remove(project_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use maestro_domain::model::TeamMemberStatus;

    use super::*;

    fn member(project_id: &str, id: &str) -> TeamMember {
        TeamMember {
            id: id.into(),
            project_id: project_id.into(),
            name: "n".into(),
            role: "r".into(),
            avatar: "a".into(),
            identity: String::new(),
            model: None,
            agent_tool: None,
            mode: None,
            skill_ids: Vec::new(),
            is_default: false,
            status: TeamMemberStatus::Active,
            capabilities: None,
            command_permissions: None,
            workflow_template_id: None,
            custom_workflow: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            extra: JsonObject::new(),
        }
    }

    #[tokio::test]
    async fn an_update_may_not_move_a_member() {
        let repo = MemoryTeamMemberRepo::new();
        repo.create(member("p", "tm_1")).await.unwrap();
        let err = repo
            .update("p", "tm_1", &|m: &mut TeamMember| {
                m.project_id = "q".into();
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(matches!(err, DomainError::Internal(_)));
        assert_eq!(
            repo.get("p", "tm_1").await.unwrap(),
            Some(member("p", "tm_1"))
        );
    }

    #[tokio::test]
    async fn emptied_projects_are_dropped() {
        let repo = MemoryTeamMemberRepo::new();
        repo.create(member("p", "tm_1")).await.unwrap();
        assert!(repo.delete("p", "tm_1").await.unwrap());
        assert!(repo.read().is_empty());
    }
}
