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
mod tests;
