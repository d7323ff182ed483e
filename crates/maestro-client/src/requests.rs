//! Request bodies and query strings, as the server reads them (camelCase, unset fields left
//! out). Required fields are plain fields; the rest are `Option`s, so `..Default::default()`
//! fills what a caller does not set.

use std::collections::BTreeMap;

use maestro_domain::model::{
    AgentMode, AgentTool, Capabilities, CommandPermissions, JsonObject, MailMessageType,
    NeedsInput, SessionStatus, SpawnSource, TaskPriority, TaskSessionStatus, TaskStatus,
    TeamMemberStatus, UpdateSource,
};
use serde::Serialize;
use serde_json::Value;

/// `POST /api/projects`, `PUT /api/projects/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /api/projects/{id}/members`: by user id or by email.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AddMember {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `owner`, `editor` or `viewer` (the server's default when unset: `editor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// `POST /api/projects/{id}/api-keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewApiKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
}

/// `POST /api/push/subscriptions`: the browser's `PushSubscription` JSON and the device's
/// settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewPushSubscription {
    pub endpoint: String,
    pub keys: maestro_domain::model::PushKeys,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted_projects: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<maestro_domain::model::QuietHours>,
}

/// Filters of `GET /api/tasks`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskQuery {
    pub project_id: Option<String>,
    pub status: Option<TaskStatus>,
    /// `Some(None)`: root tasks only (`parentId=null`).
    pub parent_id: Option<Option<String>>,
}

/// `POST /api/tasks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewTask {
    pub project_id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<TaskPriority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_task_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_ids: Option<Vec<String>>,
}

impl NewTask {
    /// A task with a title in a project; the rest unset.
    pub fn new(project_id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            project_id: project_id.into(),
            title: title.into(),
            ..Self::default()
        }
    }
}

/// `PATCH /api/tasks/{id}`. A session reporting on a task sets `update_source: Session`,
/// `session_id` and `session_status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_source: Option<UpdateSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_status: Option<TaskSessionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<TaskPriority>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_task_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_session_statuses: Option<BTreeMap<String, TaskSessionStatus>>,
    /// The writer's claim's fencing token: the server refuses the write (409
    /// `STALE_FENCING_TOKEN`) unless it is the task's current claim's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<u64>,
}

/// `POST /api/tasks/{id}/claim`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClaimTask {
    /// The claiming session (`None`: the caller's own, with a session token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// 1,000–600,000 ms (the server's default: 30,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// `POST /api/tasks/{id}/timeline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskTimelineInput {
    pub session_id: String,
    pub message: String,
    /// `progress` when unset.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Filters of `GET /api/sessions`: the domain's own query.
pub use maestro_domain::services::SessionQuery;

/// `POST /api/sessions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewSession {
    pub project_id: String,
    /// The tasks it works on (may be empty).
    pub task_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SessionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonObject>,
}

/// `PATCH /api/sessions/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SessionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<JsonObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<JsonObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_input: Option<NeedsInput>,
}

/// `POST /api/sessions/{id}/events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionEventInput {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// `POST /api/sessions/{id}/timeline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionTimelineInput {
    pub message: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `POST /api/sessions/{id}/docs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DocInput {
    pub title: String,
    pub file_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

/// `POST /api/sessions/{id}/modal`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShowModal {
    /// Chosen by the agent; actions and close name it.
    pub modal_id: String,
    pub html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
}

/// `POST /api/sessions/{id}/modal/{modalId}/actions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModalAction {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// `POST /api/sessions/spawn`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SpawnRequest {
    pub project_id: String,
    pub task_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<AgentMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawn_source: Option<SpawnSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<JsonObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegate_team_member_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_tool: Option<AgentTool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `POST /api/mail`: to a session, to a team member, or to the whole project (neither).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SendMail {
    pub project_id: String,
    pub from_session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_team_member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_mail_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: MailMessageType,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<JsonObject>,
}

/// Filters of `GET /api/mail/inbox/{sessionId}`. The server answers `[]` without a project
/// (as the original does), so the typed client always sends one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxQuery {
    pub project_id: String,
    pub kind: Option<MailMessageType>,
    /// Only mail created after this epoch-ms instant.
    pub since: Option<i64>,
}

/// `GET /api/mail/wait/{sessionId}`: long-poll until mail arrives or the timeout passes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitQuery {
    /// The session's project (required, as for the inbox).
    pub project_id: String,
    /// 1,000–120,000 ms (the server's default when unset: 30,000).
    pub timeout_ms: Option<u64>,
    pub since: Option<i64>,
}

/// `POST /api/team-members`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewTeamMember {
    pub project_id: String,
    pub name: String,
    pub role: String,
    /// An emoji or image URL.
    pub avatar: String,
    #[serde(flatten)]
    pub settings: TeamMemberSettings,
}

/// `PATCH /api/team-members/{id}` (the project goes in the body, as the server requires).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberPatch {
    pub project_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(flatten)]
    pub settings: TeamMemberSettings,
}

/// The optional fields a team member is created or updated with.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_tool: Option<AgentTool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<AgentMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TeamMemberStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_permissions: Option<CommandPermissions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_template_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_workflow: Option<String>,
}
