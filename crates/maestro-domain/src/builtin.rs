//! Built-in data: the five default team members and the workflow templates.
//!
//! The UI-visible strings are data files (`data/*.json`) copied from the original server
//! (see `docs/DECISIONS.md`); they are embedded at build time.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::model::{
    AgentMode, AgentTool, Capabilities, CommandPermissions, JsonObject, TeamMember,
    TeamMemberStatus, WorkflowTemplate,
};

/// Suffixes of the default team members, in listing order.
pub const DEFAULT_MEMBER_TYPES: [&str; 5] = [
    "simple_worker",
    "coordinator",
    "batch_coordinator",
    "dag_coordinator",
    "recruiter",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefaultMemberData {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    role: String,
    identity: String,
    avatar: String,
    model: String,
    agent_tool: AgentTool,
    mode: AgentMode,
    skill_ids: Vec<String>,
    capabilities: Capabilities,
    #[serde(default)]
    command_permissions: Option<CommandPermissions>,
    workflow_template_id: String,
}

static DEFAULT_MEMBERS: LazyLock<Vec<DefaultMemberData>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../data/default_team_members.json"))
        .expect("embedded default_team_members.json is valid (checked by a unit test)")
});

static TEMPLATES: LazyLock<Vec<WorkflowTemplate>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../data/workflow_templates.json"))
        .expect("embedded workflow_templates.json is valid (checked by a unit test)")
});

/// The id of a project's default member: `tm_<projectId>_<type>`.
pub fn default_member_id(project_id: &str, kind: &str) -> String {
    format!("tm_{project_id}_{kind}")
}

/// The default-member type of `id` within `project_id`, if `id` is one.
pub fn default_member_type(project_id: &str, id: &str) -> Option<&'static str> {
    let rest = id
        .strip_prefix("tm_")?
        .strip_prefix(project_id)?
        .strip_prefix('_')?;
    DEFAULT_MEMBER_TYPES.into_iter().find(|t| *t == rest)
}

/// The pristine built-in member `kind` of a project, with the given ISO timestamps.
pub fn default_member(project_id: &str, kind: &str, created_at: &str) -> Option<TeamMember> {
    let d = DEFAULT_MEMBERS.iter().find(|d| d.kind == kind)?;
    Some(TeamMember {
        id: default_member_id(project_id, kind),
        project_id: project_id.to_string(),
        name: d.name.clone(),
        role: d.role.clone(),
        avatar: d.avatar.clone(),
        identity: d.identity.clone(),
        model: Some(d.model.clone()),
        agent_tool: Some(d.agent_tool),
        mode: Some(d.mode),
        skill_ids: d.skill_ids.clone(),
        is_default: true,
        status: TeamMemberStatus::Active,
        capabilities: Some(d.capabilities.clone()),
        command_permissions: d.command_permissions.clone(),
        workflow_template_id: Some(d.workflow_template_id.clone()),
        custom_workflow: None,
        created_at: created_at.to_string(),
        updated_at: created_at.to_string(),
        extra: JsonObject::new(),
    })
}

/// The built-in workflow templates.
pub fn workflow_templates() -> &'static [WorkflowTemplate] {
    &TEMPLATES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_parses_and_is_complete() {
        assert_eq!(DEFAULT_MEMBERS.len(), 5);
        for kind in DEFAULT_MEMBER_TYPES {
            let m = default_member("proj_1_a", kind, "2026-01-01T00:00:00.000Z").unwrap();
            assert!(m.is_default);
            assert_eq!(m.model.as_deref(), Some("sonnet"));
            assert!(!m.identity.is_empty());
        }
        let ids: Vec<&str> = workflow_templates().iter().map(|t| t.id.as_str()).collect();
        for id in [
            "execute-simple",
            "execute-tree",
            "coordinate-default",
            "coordinate-batching",
            "coordinate-dag",
            "execute-recruit",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
    }

    #[test]
    fn recognises_default_ids_even_with_underscored_project_ids() {
        assert_eq!(
            default_member_type("proj_1_abc", "tm_proj_1_abc_batch_coordinator"),
            Some("batch_coordinator")
        );
        assert_eq!(default_member_type("proj_1_abc", "tm_proj_1_abc_x"), None);
        assert_eq!(
            default_member_type("proj_2", "tm_proj_1_abc_coordinator"),
            None
        );
    }
}
