//! Projects (API.md §4).

use std::sync::Arc;

use crate::error::rename_not_found;
use crate::error::{DomainError, Result};
use crate::events::{Deleted, DomainEvent};
use crate::model::{JsonObject, Project};
use crate::ports::{SessionFilter, TaskFilter};
use crate::services::{Context, non_blank};

/// Body of `POST /api/projects`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewProject {
    pub name: Option<String>,
    pub working_dir: Option<String>,
    pub description: Option<String>,
}

/// Body of `PUT /api/projects/:id`: only these three fields are applied (DEFECTS S6).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub working_dir: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone)]
pub struct ProjectService {
    ctx: Arc<Context>,
}

impl ProjectService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    pub async fn list(&self) -> Result<Vec<Project>> {
        self.ctx.ports.projects.list().await
    }

    pub async fn get(&self, id: &str) -> Result<Project> {
        self.ctx
            .ports
            .projects
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Project", id))
    }

    /// Creates a project (name trimmed, non-blank) and emits `project:created`.
    pub async fn create(&self, input: NewProject) -> Result<Project> {
        let name = non_blank(input.name.as_deref())
            .ok_or_else(|| DomainError::invalid_field("name", "Project name is required"))?;
        let now = self.ctx.now();
        let project = Project {
            id: self.ctx.new_id("proj"),
            name,
            working_dir: input.working_dir.unwrap_or_default(),
            description: input.description.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            extra: JsonObject::new(),
        };
        let project = self.ctx.ports.projects.create(project).await?;
        self.ctx
            .emit(DomainEvent::ProjectCreated(project.clone()))
            .await;
        Ok(project)
    }

    /// Applies `name`, `workingDir`, `description`; bumps `updatedAt`; emits `project:updated`.
    pub async fn update(&self, id: &str, patch: ProjectPatch) -> Result<Project> {
        if patch.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(DomainError::invalid_field(
                "name",
                "Project name cannot be empty",
            ));
        }
        let now = self.ctx.now();
        let project = self
            .ctx
            .ports
            .projects
            .update(id, &|p: &mut Project| {
                if let Some(name) = &patch.name {
                    p.name = name.clone();
                }
                if let Some(dir) = &patch.working_dir {
                    p.working_dir = dir.clone();
                }
                if let Some(desc) = &patch.description {
                    p.description = desc.clone();
                }
                p.updated_at = now;
                Ok(())
            })
            .await
            .map_err(|e| rename_not_found(e, "Project", id))?;
        self.ctx
            .emit(DomainEvent::ProjectUpdated(project.clone()))
            .await;
        Ok(project)
    }

    /// Deletes an empty project with its orderings and team members (DEFECTS C25);
    /// refused with 422 while any task or session belongs to it.
    pub async fn delete(&self, id: &str) -> Result<()> {
        self.get(id).await?;
        // Who may delete is decided before whether it can be deleted.
        self.ctx.authorize(id, crate::access::Need::Own).await?;
        let ports = &self.ctx.ports;
        let tasks = ports
            .tasks
            .list(&TaskFilter {
                project_id: Some(id.to_string()),
                ..TaskFilter::default()
            })
            .await?;
        if !tasks.is_empty() {
            return Err(DomainError::BusinessRule(
                "Cannot delete project with existing tasks".into(),
            ));
        }
        let sessions = ports
            .sessions
            .list(&SessionFilter {
                project_id: Some(id.to_string()),
                ..SessionFilter::default()
            })
            .await?;
        if !sessions.is_empty() {
            return Err(DomainError::BusinessRule(
                "Cannot delete project with existing sessions".into(),
            ));
        }
        if !ports.projects.delete(id).await? {
            return Err(DomainError::not_found("Project", id));
        }
        if let Err(e) = ports.orderings.delete_project(id).await {
            tracing::warn!(project = id, error = %e, "could not remove orderings of deleted project");
        }
        if let Err(e) = ports.team_members.delete_project(id).await {
            tracing::warn!(project = id, error = %e, "could not remove team members of deleted project");
        }
        self.ctx
            .emit(DomainEvent::ProjectDeleted(Deleted {
                id: id.to_string(),
                project_id: None,
            }))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::*;

    #[tokio::test]
    async fn create_trims_name_and_defaults_fields_and_emits_created() {
        let mut m = Mocks::new();
        m.projects.expect_create().returning(Ok);
        let events = m.capture_events();
        let s = m.services();
        let p = s
            .projects
            .create(NewProject {
                name: Some("  Demo  ".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p.name, "Demo");
        assert_eq!(p.working_dir, "");
        assert_eq!(p.description, "");
        assert_eq!(p.created_at, NOW);
        assert!(p.id.starts_with("proj_"));
        assert_eq!(events.names(), ["project:created"]);
    }

    #[tokio::test]
    async fn create_rejects_blank_name() {
        let m = Mocks::new();
        let err = m
            .services()
            .projects
            .create(NewProject {
                name: Some("   ".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Project name is required");
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }

    #[tokio::test]
    async fn update_applies_only_known_fields_and_rejects_blank_name() {
        let mut m = Mocks::new();
        let stored = project("proj_1");
        m.projects
            .expect_update()
            .returning(move |_, f| apply(stored.clone(), f));
        let events = m.capture_events();
        let s = m.services();
        let err = s
            .projects
            .update(
                "proj_1",
                ProjectPatch {
                    name: Some(" ".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Project name cannot be empty");
        let p = s
            .projects
            .update(
                "proj_1",
                ProjectPatch {
                    working_dir: Some("/w".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(p.working_dir, "/w");
        assert_eq!(p.updated_at, NOW);
        assert_eq!(events.names(), ["project:updated"]);
    }

    #[tokio::test]
    async fn delete_refused_while_tasks_exist() {
        let mut m = Mocks::new();
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        m.tasks
            .expect_list()
            .returning(|_| Ok(vec![task("task_1", "proj_1")]));
        m.projects.expect_delete().never();
        let err = m.services().projects.delete("proj_1").await.unwrap_err();
        assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
        assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
    }

    #[tokio::test]
    async fn delete_refused_while_sessions_exist() {
        let mut m = Mocks::new();
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        m.tasks.expect_list().returning(|_| Ok(vec![]));
        m.sessions
            .expect_list()
            .returning(|_| Ok(vec![session("sess_1", "proj_1", &[])]));
        m.projects.expect_delete().never();
        let err = m.services().projects.delete("proj_1").await.unwrap_err();
        assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
    }

    #[tokio::test]
    async fn delete_removes_orderings_and_team_members_and_emits_deleted() {
        let mut m = Mocks::new();
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        m.tasks.expect_list().returning(|_| Ok(vec![]));
        m.sessions.expect_list().returning(|_| Ok(vec![]));
        m.projects.expect_delete().times(1).returning(|_| Ok(true));
        m.orderings
            .expect_delete_project()
            .times(1)
            .returning(|_| Ok(()));
        m.team_members
            .expect_delete_project()
            .times(1)
            .returning(|_| Ok(()));
        let events = m.capture_events();
        m.services().projects.delete("proj_1").await.unwrap();
        assert_eq!(events.names(), ["project:deleted"]);
        assert_eq!(events.data(0)["id"], "proj_1");
    }

    #[tokio::test]
    async fn get_missing_is_not_found_with_original_message() {
        let mut m = Mocks::new();
        m.projects.expect_get().returning(|_| Ok(None));
        let err = m.services().projects.get("proj_x").await.unwrap_err();
        assert_eq!(err.to_string(), "Project with id 'proj_x' not found");
    }
}
