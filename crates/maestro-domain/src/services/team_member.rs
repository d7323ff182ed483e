//! Team members (API.md §10): five built-in members per project plus custom ones.

use std::sync::Arc;

use serde_json::Value;

use crate::builtin::{self, DEFAULT_MEMBER_TYPES};
use crate::error::rename_not_found;
use crate::error::{DomainError, Result};
use crate::events::{Deleted, DomainEvent};
use crate::ids::iso_from_millis;
use crate::model::{
    AgentMode, AgentTool, Capabilities, CommandPermissions, JsonObject, TeamMember,
    TeamMemberStatus,
};
use crate::services::{Context, non_blank};
use crate::validate;

/// Body of `POST /api/team-members`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTeamMember {
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub avatar: Option<String>,
    pub identity: Option<String>,
    pub model: Option<String>,
    pub agent_tool: Option<AgentTool>,
    pub mode: Option<AgentMode>,
    pub skill_ids: Option<Vec<String>>,
    pub capabilities: Option<Capabilities>,
    pub command_permissions: Option<CommandPermissions>,
    pub workflow_template_id: Option<String>,
    pub custom_workflow: Option<String>,
}

/// Body of `PATCH /api/team-members/:id` (whitelisted keys).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamMemberPatch {
    pub name: Option<String>,
    pub role: Option<String>,
    pub identity: Option<String>,
    pub avatar: Option<String>,
    pub model: Option<String>,
    pub agent_tool: Option<AgentTool>,
    pub mode: Option<AgentMode>,
    pub skill_ids: Option<Vec<String>>,
    pub status: Option<TeamMemberStatus>,
    pub capabilities: Option<Capabilities>,
    pub command_permissions: Option<CommandPermissions>,
    pub workflow_template_id: Option<String>,
    pub custom_workflow: Option<String>,
}

impl TeamMemberPatch {
    /// The patch as the JSON keys it sets (trimmed texts), for override records and merges.
    fn to_object(&self) -> JsonObject {
        let mut o = JsonObject::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.to_string(), v);
            }
        };
        let text = |s: &Option<String>| s.as_ref().map(|s| Value::String(s.trim().to_string()));
        let json = |v: Option<Value>| v;
        put("name", text(&self.name));
        put("role", text(&self.role));
        put("identity", text(&self.identity));
        put("avatar", text(&self.avatar));
        put("model", self.model.clone().map(Value::String));
        put(
            "agentTool",
            self.agent_tool.map(|t| Value::String(t.as_str().into())),
        );
        put("mode", self.mode.map(|m| Value::String(m.as_str().into())));
        put(
            "skillIds",
            json(self.skill_ids.as_ref().map(|s| s.clone().into())),
        );
        put(
            "capabilities",
            self.capabilities
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok()),
        );
        put(
            "commandPermissions",
            self.command_permissions
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok()),
        );
        put(
            "workflowTemplateId",
            self.workflow_template_id.clone().map(Value::String),
        );
        put(
            "customWorkflow",
            self.custom_workflow.clone().map(Value::String),
        );
        o
    }
}

#[derive(Clone)]
pub struct TeamMemberService {
    ctx: Arc<Context>,
}

impl TeamMemberService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// The five built-in members (overrides applied) then the custom members of a project.
    pub async fn list(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        validate::safe_id("projectId", project_id)?;
        let mut out = Vec::with_capacity(8);
        let created = self.default_timestamp(project_id).await?;
        for kind in DEFAULT_MEMBER_TYPES {
            out.push(self.effective_default(project_id, kind, &created).await?);
        }
        out.extend(self.ctx.ports.team_members.list(project_id).await?);
        Ok(out)
    }

    /// A built-in member (effective) or a custom one.
    pub async fn get(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        validate::safe_id("projectId", project_id)?;
        validate::safe_id("id", id)?;
        if let Some(kind) = builtin::default_member_type(project_id, id) {
            let created = self.default_timestamp(project_id).await?;
            return self.effective_default(project_id, kind, &created).await;
        }
        self.ctx
            .ports
            .team_members
            .get(project_id, id)
            .await?
            .ok_or_else(|| DomainError::not_found("Team member", id))
    }

    /// Creates a custom member and emits `team_member:created`.
    pub async fn create(&self, input: NewTeamMember) -> Result<TeamMember> {
        let project_id = non_blank(input.project_id.as_deref())
            .ok_or_else(|| DomainError::invalid_field("projectId", "Project ID is required"))?;
        validate::safe_id("projectId", &project_id)?;
        // The original's messages, verbatim (TeamMemberService.createTeamMember).
        let required = |field: &str, v: &Option<String>| {
            non_blank(v.as_deref()).ok_or_else(|| {
                DomainError::invalid_field(field, format!("Team member {field} is required"))
            })
        };
        let name = required("name", &input.name)?;
        let role = required("role", &input.role)?;
        let avatar = required("avatar", &input.avatar)?;
        self.ctx.require_project(&project_id).await?;
        let now = self.ctx.now();
        let iso = iso_from_millis(now);
        let truthy = |s: Option<String>| s.filter(|s| !s.is_empty());
        let member = TeamMember {
            id: self.ctx.new_id("tm"),
            project_id,
            name,
            role,
            avatar,
            identity: input.identity.unwrap_or_default().trim().to_string(),
            model: truthy(input.model),
            agent_tool: input.agent_tool,
            mode: input.mode,
            skill_ids: input.skill_ids.unwrap_or_default(),
            is_default: false,
            status: TeamMemberStatus::Active,
            capabilities: input.capabilities,
            command_permissions: input.command_permissions,
            workflow_template_id: truthy(input.workflow_template_id),
            custom_workflow: truthy(input.custom_workflow),
            created_at: iso.clone(),
            updated_at: iso,
            extra: JsonObject::new(),
        };
        let member = self.ctx.ports.team_members.create(member).await?;
        self.ctx
            .emit(DomainEvent::TeamMemberCreated(member.clone()))
            .await;
        Ok(member)
    }

    /// Updates whitelisted keys: a built-in member through its override record, a custom one
    /// in place. `status` is refused on built-ins (DEFECTS C6) and, on custom members, goes
    /// through archive/unarchive with their events.
    pub async fn update(
        &self,
        project_id: &str,
        id: &str,
        patch: TeamMemberPatch,
    ) -> Result<TeamMember> {
        for (field, v) in [
            ("name", &patch.name),
            ("role", &patch.role),
            ("avatar", &patch.avatar),
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(DomainError::invalid_field(
                    field,
                    format!("Team member {field} cannot be empty"),
                ));
            }
        }
        let current = self.get(project_id, id).await?;
        let now_iso = iso_from_millis(self.ctx.now());
        if current.is_default {
            if patch.status.is_some() {
                return Err(DomainError::Forbidden(
                    "Cannot change the status of a default team member".into(),
                ));
            }
            let changes = patch.to_object();
            self.ctx
                .ports
                .team_members
                .update_override(project_id, id, &|o: &mut JsonObject| {
                    for (k, v) in &changes {
                        o.insert(k.clone(), v.clone());
                    }
                    o.insert("projectId".into(), Value::String(project_id.to_string()));
                    o.insert("updatedAt".into(), Value::String(now_iso.clone()));
                    Ok(())
                })
                .await?;
            let member = self.get(project_id, id).await?;
            self.ctx
                .emit(DomainEvent::TeamMemberUpdated(member.clone()))
                .await;
            return Ok(member);
        }
        let status = patch.status;
        let mut fields = patch;
        fields.status = None;
        let changes = fields.to_object();
        let mut member = current;
        if !changes.is_empty() {
            member = self
                .ctx
                .ports
                .team_members
                .update(project_id, id, &|m: &mut TeamMember| {
                    *m = merge_member(m, &changes)?;
                    m.updated_at = now_iso.clone();
                    Ok(())
                })
                .await
                .map_err(|e| rename_not_found(e, "Team member", id))?;
        }
        match status {
            Some(TeamMemberStatus::Archived) if member.status != TeamMemberStatus::Archived => {
                return self.archive(project_id, id).await;
            }
            Some(TeamMemberStatus::Active) if member.status != TeamMemberStatus::Active => {
                return self.unarchive(project_id, id).await;
            }
            _ => {}
        }
        self.ctx
            .emit(DomainEvent::TeamMemberUpdated(member.clone()))
            .await;
        Ok(member)
    }

    /// Deletes an archived custom member (built-ins: 403; active members: 422).
    pub async fn delete(&self, project_id: &str, id: &str) -> Result<()> {
        let member = self.get(project_id, id).await?;
        if member.is_default {
            return Err(DomainError::Forbidden(
                "Cannot delete a default team member".into(),
            ));
        }
        if member.status != TeamMemberStatus::Archived {
            return Err(DomainError::BusinessRule(
                "Team member must be archived before it can be deleted".into(),
            ));
        }
        if !self.ctx.ports.team_members.delete(project_id, id).await? {
            return Err(DomainError::not_found("Team member", id));
        }
        self.ctx
            .emit(DomainEvent::TeamMemberDeleted(Deleted {
                id: id.to_string(),
                project_id: Some(project_id.to_string()),
            }))
            .await;
        Ok(())
    }

    /// Archives a custom member (no-op without event when already archived).
    pub async fn archive(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        self.set_status(project_id, id, TeamMemberStatus::Archived)
            .await
    }

    /// Re-activates a custom member (no-op without event when already active).
    pub async fn unarchive(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        self.set_status(project_id, id, TeamMemberStatus::Active)
            .await
    }

    async fn set_status(
        &self,
        project_id: &str,
        id: &str,
        status: TeamMemberStatus,
    ) -> Result<TeamMember> {
        let member = self.get(project_id, id).await?;
        if member.is_default {
            return Err(DomainError::Forbidden(format!(
                "Cannot {} a default team member",
                if status == TeamMemberStatus::Archived {
                    "archive"
                } else {
                    "unarchive"
                }
            )));
        }
        if member.status == status {
            return Ok(member);
        }
        let now_iso = iso_from_millis(self.ctx.now());
        let member = self
            .ctx
            .ports
            .team_members
            .update(project_id, id, &|m: &mut TeamMember| {
                m.status = status;
                m.updated_at = now_iso.clone();
                Ok(())
            })
            .await
            .map_err(|e| rename_not_found(e, "Team member", id))?;
        let event = match status {
            TeamMemberStatus::Archived => DomainEvent::TeamMemberArchived(member.clone()),
            TeamMemberStatus::Active => DomainEvent::TeamMemberUpdated(member.clone()),
        };
        self.ctx.emit(event).await;
        Ok(member)
    }

    /// Drops a built-in member's override and emits `team_member:updated` with the pristine
    /// member; a custom id is 404 `Default team member`.
    pub async fn reset(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        validate::safe_id("projectId", project_id)?;
        validate::safe_id("id", id)?;
        let Some(kind) = builtin::default_member_type(project_id, id) else {
            return Err(DomainError::not_found("Default team member", id));
        };
        self.ctx
            .ports
            .team_members
            .delete_override(project_id, id)
            .await?;
        let created = self.default_timestamp(project_id).await?;
        let member = self.effective_default(project_id, kind, &created).await?;
        self.ctx
            .emit(DomainEvent::TeamMemberUpdated(member.clone()))
            .await;
        Ok(member)
    }

    /// Stable timestamps for built-ins (DEFECTS C8): the project's creation time, or the epoch
    /// when the project is unknown.
    async fn default_timestamp(&self, project_id: &str) -> Result<String> {
        let created = self
            .ctx
            .ports
            .projects
            .get(project_id)
            .await?
            .map_or(0, |p| p.created_at);
        Ok(iso_from_millis(created))
    }

    /// Built-in constants, then the override's keys, then `id`, `projectId`, `isDefault`
    /// forced (MODEL.md §9).
    async fn effective_default(
        &self,
        project_id: &str,
        kind: &str,
        created_at: &str,
    ) -> Result<TeamMember> {
        let base = builtin::default_member(project_id, kind, created_at)
            .ok_or_else(|| DomainError::Internal(format!("unknown default member {kind}")))?;
        let Some(overrides) = self
            .ctx
            .ports
            .team_members
            .get_override(project_id, &base.id)
            .await?
        else {
            return Ok(base);
        };
        match merge_member(&base, &overrides) {
            Ok(mut m) => {
                m.id = base.id.clone();
                m.project_id = project_id.to_string();
                m.is_default = true;
                Ok(m)
            }
            Err(e) => {
                tracing::warn!(member = %base.id, error = %e, "ignoring unreadable override");
                Ok(base)
            }
        }
    }
}

/// `member` with `changes` laid over it (JSON-level merge, so unknown keys survive).
fn merge_member(member: &TeamMember, changes: &JsonObject) -> Result<TeamMember> {
    let mut value = serde_json::to_value(member)
        .map_err(|e| DomainError::Internal(format!("team member encode: {e}")))?;
    if let Value::Object(o) = &mut value {
        for (k, v) in changes {
            if k != "id" && k != "isDefault" {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::from_value(value)
        .map_err(|e| DomainError::validation(format!("invalid team member fields: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::*;
    use serde_json::json;

    fn member(id: &str, status: TeamMemberStatus) -> TeamMember {
        TeamMember {
            id: id.into(),
            project_id: "proj_1".into(),
            name: "Ann".into(),
            role: "Reviewer".into(),
            avatar: "A".into(),
            identity: String::new(),
            model: None,
            agent_tool: None,
            mode: None,
            skill_ids: vec![],
            is_default: false,
            status,
            capabilities: None,
            command_permissions: None,
            workflow_template_id: None,
            custom_workflow: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            extra: JsonObject::new(),
        }
    }

    fn with_project(m: &mut Mocks) {
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
    }

    #[tokio::test]
    async fn list_puts_five_defaults_first_with_stable_timestamps_then_custom() {
        let mut m = Mocks::new();
        with_project(&mut m);
        m.team_members
            .expect_get_override()
            .returning(|_, _| Ok(None));
        m.team_members
            .expect_list()
            .returning(|_| Ok(vec![member("tm_9_x", TeamMemberStatus::Active)]));
        let svc = m.services();
        let list = svc.team_members.list("proj_1").await.unwrap();
        let ids: Vec<&str> = list.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "tm_proj_1_simple_worker",
                "tm_proj_1_coordinator",
                "tm_proj_1_batch_coordinator",
                "tm_proj_1_dag_coordinator",
                "tm_proj_1_recruiter",
                "tm_9_x"
            ]
        );
        assert_eq!(list[0].created_at, "1970-01-01T00:00:01.000Z");
        let again = svc.team_members.list("proj_1").await.unwrap();
        assert_eq!(again[0].updated_at, list[0].updated_at);
    }

    #[tokio::test]
    async fn override_keys_are_laid_over_the_default() {
        let mut m = Mocks::new();
        with_project(&mut m);
        m.team_members.expect_get_override().returning(|_, _| {
            Ok(Some(
                json!({"model": "opus", "projectId": "proj_1", "updatedAt": "2026-05-05T00:00:00.000Z", "isDefault": false})
                    .as_object()
                    .unwrap()
                    .clone(),
            ))
        });
        let got = m
            .services()
            .team_members
            .get("proj_1", "tm_proj_1_coordinator")
            .await
            .unwrap();
        assert_eq!(got.model.as_deref(), Some("opus"));
        assert_eq!(got.updated_at, "2026-05-05T00:00:00.000Z");
        assert!(got.is_default);
        assert_eq!(got.name, "Coordinator");
    }

    #[tokio::test]
    async fn members_of_unknown_projects_are_not_stored() {
        let mut m = Mocks::new();
        m.projects.expect_get().returning(|_| Ok(None));
        m.team_members.expect_create().never();
        let e = m
            .services()
            .team_members
            .create(NewTeamMember {
                project_id: Some("proj_gone".into()),
                name: Some("a".into()),
                role: Some("r".into()),
                avatar: Some("x".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), "NOT_FOUND");
    }

    #[tokio::test]
    async fn create_requires_project_and_non_blank_fields_and_trims() {
        let mut m = Mocks::new();
        m.records_exist("proj_1");
        m.team_members.expect_create().returning(Ok);
        let events = m.capture_events();
        let svc = m.services();
        let err = svc
            .team_members
            .create(NewTeamMember {
                name: Some("a".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Project ID is required");
        let err = svc
            .team_members
            .create(NewTeamMember {
                project_id: Some("proj_1".into()),
                name: Some("a".into()),
                role: Some(" ".into()),
                avatar: Some("x".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Team member role is required");
        let out = svc
            .team_members
            .create(NewTeamMember {
                project_id: Some("proj_1".into()),
                name: Some(" Ann ".into()),
                role: Some("R".into()),
                avatar: Some("A".into()),
                identity: Some("  me ".into()),
                model: Some(String::new()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(out.name, "Ann");
        assert_eq!(out.identity, "me");
        assert_eq!(out.model, None);
        assert!(!out.is_default);
        assert_eq!(out.status, TeamMemberStatus::Active);
        assert!(out.created_at.ends_with('Z'));
        assert_eq!(events.names(), ["team_member:created"]);
    }

    #[tokio::test]
    async fn defaults_cannot_be_deleted_archived_or_unarchived() {
        let mut m = Mocks::new();
        with_project(&mut m);
        m.team_members
            .expect_get_override()
            .returning(|_, _| Ok(None));
        let svc = m.services();
        let id = "tm_proj_1_recruiter";
        assert_eq!(
            svc.team_members
                .delete("proj_1", id)
                .await
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        assert_eq!(
            svc.team_members
                .archive("proj_1", id)
                .await
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        assert_eq!(
            svc.team_members
                .unarchive("proj_1", id)
                .await
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
        let patch = TeamMemberPatch {
            status: Some(TeamMemberStatus::Archived),
            ..Default::default()
        };
        assert_eq!(
            svc.team_members
                .update("proj_1", id, patch)
                .await
                .unwrap_err()
                .code(),
            "FORBIDDEN"
        );
    }

    #[tokio::test]
    async fn custom_member_must_be_archived_before_delete() {
        let mut m = Mocks::new();
        m.team_members
            .expect_get()
            .returning(|_, id| Ok(Some(member(id, TeamMemberStatus::Active))));
        m.team_members.expect_delete().never();
        let err = m
            .services()
            .team_members
            .delete("proj_1", "tm_1_a")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
    }

    #[tokio::test]
    async fn archived_custom_member_is_deleted_with_event() {
        let mut m = Mocks::new();
        m.team_members
            .expect_get()
            .returning(|_, id| Ok(Some(member(id, TeamMemberStatus::Archived))));
        m.team_members.expect_delete().returning(|_, _| Ok(true));
        let events = m.capture_events();
        m.services()
            .team_members
            .delete("proj_1", "tm_1_a")
            .await
            .unwrap();
        assert_eq!(events.names(), ["team_member:deleted"]);
    }

    #[tokio::test]
    async fn archive_and_unarchive_emit_once_and_are_idempotent() {
        let mut m = Mocks::new();
        let cell = Cell::new(member("tm_1_a", TeamMemberStatus::Active));
        let (a, b) = (cell.clone(), cell.clone());
        m.team_members
            .expect_get()
            .returning(move |_, _| Ok(Some(a.get())));
        m.team_members
            .expect_update()
            .returning(move |_, _, f| b.update(f));
        let events = m.capture_events();
        let svc = m.services();
        let out = svc.team_members.archive("proj_1", "tm_1_a").await.unwrap();
        assert_eq!(out.status, TeamMemberStatus::Archived);
        svc.team_members.archive("proj_1", "tm_1_a").await.unwrap();
        svc.team_members
            .unarchive("proj_1", "tm_1_a")
            .await
            .unwrap();
        svc.team_members
            .unarchive("proj_1", "tm_1_a")
            .await
            .unwrap();
        assert_eq!(
            events.names(),
            ["team_member:archived", "team_member:updated"]
        );
    }

    #[tokio::test]
    async fn patch_status_on_custom_member_goes_through_archive() {
        let mut m = Mocks::new();
        let cell = Cell::new(member("tm_1_a", TeamMemberStatus::Active));
        let (a, b) = (cell.clone(), cell.clone());
        m.team_members
            .expect_get()
            .returning(move |_, _| Ok(Some(a.get())));
        m.team_members
            .expect_update()
            .returning(move |_, _, f| b.update(f));
        let events = m.capture_events();
        let out = m
            .services()
            .team_members
            .update(
                "proj_1",
                "tm_1_a",
                TeamMemberPatch {
                    name: Some(" Bea ".into()),
                    status: Some(TeamMemberStatus::Archived),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(out.name, "Bea");
        assert_eq!(out.status, TeamMemberStatus::Archived);
        assert_eq!(events.names(), ["team_member:archived"]);
    }

    #[tokio::test]
    async fn patch_on_default_writes_override_with_project_and_updated_at() {
        let mut m = Mocks::new();
        with_project(&mut m);
        let store = Cell::new(JsonObject::new());
        let (a, b) = (store.clone(), store.clone());
        m.team_members.expect_get_override().returning(move |_, _| {
            let o = a.get();
            Ok(if o.is_empty() { None } else { Some(o) })
        });
        m.team_members
            .expect_update_override()
            .returning(move |_, _, f| b.update(f));
        let events = m.capture_events();
        let out = m
            .services()
            .team_members
            .update(
                "proj_1",
                "tm_proj_1_simple_worker",
                TeamMemberPatch {
                    model: Some("opus".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(out.model.as_deref(), Some("opus"));
        let saved = store.get();
        assert_eq!(saved["model"], "opus");
        assert_eq!(saved["projectId"], "proj_1");
        assert!(saved.contains_key("updatedAt"));
        assert!(!saved.contains_key("name"));
        assert_eq!(events.names(), ["team_member:updated"]);
    }

    #[tokio::test]
    async fn blank_name_in_patch_is_rejected() {
        let m = Mocks::new();
        let err = m
            .services()
            .team_members
            .update(
                "proj_1",
                "tm_1_a",
                TeamMemberPatch {
                    avatar: Some("  ".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Team member avatar cannot be empty");
    }

    #[tokio::test]
    async fn reset_of_custom_member_is_not_found_as_default() {
        let m = Mocks::new();
        let err = m
            .services()
            .team_members
            .reset("proj_1", "tm_1_a")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Default team member with id 'tm_1_a' not found"
        );
    }

    #[tokio::test]
    async fn reset_drops_override_and_emits_pristine_default() {
        let mut m = Mocks::new();
        with_project(&mut m);
        m.team_members
            .expect_delete_override()
            .times(1)
            .returning(|_, _| Ok(true));
        m.team_members
            .expect_get_override()
            .returning(|_, _| Ok(None));
        let events = m.capture_events();
        let out = m
            .services()
            .team_members
            .reset("proj_1", "tm_proj_1_dag_coordinator")
            .await
            .unwrap();
        assert_eq!(out.name, "DAG Coordinator");
        assert_eq!(events.names(), ["team_member:updated"]);
    }

    #[tokio::test]
    async fn unknown_member_is_not_found() {
        let mut m = Mocks::new();
        m.team_members.expect_get().returning(|_, _| Ok(None));
        let err = m
            .services()
            .team_members
            .get("proj_1", "tm_1_zz")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Team member with id 'tm_1_zz' not found");
    }
}
