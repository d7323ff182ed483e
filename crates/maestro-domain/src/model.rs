//! Entities and enums of the wire contract (spec MODEL.md).
//!
//! Every struct serialises with the exact camelCase field names of the original server.
//! Optional fields are omitted when unset unless the spec says `null`. Stored records keep
//! keys they do not know in `extra` so a read-modify-write never drops them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object (string keys, any values).
pub type JsonObject = Map<String, Value>;

/// Epoch milliseconds (JavaScript `Date.now()`).
pub type Millis = i64;

mod push;
pub use push::{PushKeys, PushOwner, PushSubscription, QuietHours};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $lit:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum $name {
            $(#[serde(rename = $lit)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The exact wire literal.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $lit),+ }
            }

            /// Parses the exact wire literal.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($lit => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl WireEnum for $name {
            fn wire(self) -> &'static str {
                self.as_str()
            }

            fn from_wire(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }
    };
}

/// A closed set of wire literals (the `string_enum!` types).
pub trait WireEnum: Copy + PartialEq + 'static {
    fn wire(self) -> &'static str;
    fn from_wire(s: &str) -> Option<Self>;
}

/// A value of a closed set as stored: a known literal, or — for data the original server
/// wrote without validating it (`priority: "urgent"`, `status: "done"`) — any other string,
/// kept verbatim, served back and written back unchanged. Business rules see `Other` as
/// "unknown" (it equals no known value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Open<T> {
    Known(T),
    Other(String),
}

impl<T: WireEnum> Open<T> {
    /// The known value, if it is one.
    pub fn known(&self) -> Option<T> {
        match self {
            Self::Known(t) => Some(*t),
            Self::Other(_) => None,
        }
    }

    /// The literal as stored.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Known(t) => t.wire(),
            Self::Other(s) => s,
        }
    }

    /// Parses a literal: known when it is one, else kept as `Other`.
    pub fn parse(s: &str) -> Self {
        T::from_wire(s).map_or_else(|| Self::Other(s.to_string()), Self::Known)
    }
}

impl<T> From<T> for Open<T> {
    fn from(t: T) -> Self {
        Self::Known(t)
    }
}

impl<T: WireEnum> PartialEq<T> for Open<T> {
    fn eq(&self, other: &T) -> bool {
        self.known() == Some(*other)
    }
}

impl<T: WireEnum> std::fmt::Display for Open<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<T: WireEnum> Serialize for Open<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, T: WireEnum> Deserialize<'de> for Open<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

/// An open set on the wire: any of `T`'s literals, or any other string the original stored
/// (marked `x-open-enum`, so generated clients keep unknown values instead of failing).
#[cfg(feature = "schema")]
impl<T: WireEnum + schemars::JsonSchema> schemars::JsonSchema for Open<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Open{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known = generator.subschema_for::<T>();
        schemars::json_schema!({
            "description": "A known value, or any other string kept verbatim (data the original server stored without validating it).",
            "anyOf": [known, {"type": "string"}],
            "x-open-enum": true,
        })
    }
}

string_enum!(
    /// Status of a task.
    TaskStatus {
        Todo = "todo",
        InProgress = "in_progress",
        InReview = "in_review",
        Completed = "completed",
        Cancelled = "cancelled",
        Blocked = "blocked",
        Archived = "archived",
    }
);

string_enum!(
    /// Status of one session's work on one task (`taskSessionStatuses` values).
    TaskSessionStatus {
        Working = "working",
        Blocked = "blocked",
        Completed = "completed",
        Failed = "failed",
        Skipped = "skipped",
    }
);

string_enum!(
    /// Priority of a task (default `medium`).
    TaskPriority { Low = "low", Medium = "medium", High = "high" }
);

string_enum!(
    /// Lifecycle status of an agent session.
    SessionStatus {
        Spawning = "spawning",
        Idle = "idle",
        Working = "working",
        Completed = "completed",
        Failed = "failed",
        Stopped = "stopped",
    }
);

impl SessionStatus {
    /// `completed`, `failed` and `stopped` end a session.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Stopped)
    }

    /// `spawning`, `idle` and `working`: the statuses `?active=true` and presence care about.
    pub fn is_active(self) -> bool {
        !self.is_terminal()
    }
}

string_enum!(
    /// Kind of a mail message.
    MailMessageType {
        Assignment = "assignment",
        StatusUpdate = "status_update",
        Query = "query",
        Response = "response",
        Directive = "directive",
        Notification = "notification",
    }
);

string_enum!(
    /// How an agent works: executes tasks or coordinates other agents.
    AgentMode { Execute = "execute", Coordinate = "coordinate" }
);

string_enum!(
    /// The agent program a session runs.
    AgentTool { ClaudeCode = "claude-code", Codex = "codex", Gemini = "gemini" }
);

string_enum!(
    /// Team member status.
    TeamMemberStatus { Active = "active", Archived = "archived" }
);

string_enum!(
    /// Who sent a task PATCH.
    UpdateSource { User = "user", Session = "session" }
);

string_enum!(
    /// Who asked for a spawn.
    SpawnSource { Ui = "ui", Session = "session" }
);

string_enum!(
    /// Entity kind of a UI ordering.
    EntityType { Task = "task", Session = "session" }
);

/// A project: a working directory with tasks and sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default)]
    pub description: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Keys this server does not know (legacy files); preserved on rewrite.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A unit of work inside a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub project_id: String,
    /// `null` for a root task.
    #[serde(default)]
    pub parent_id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Validated on writes; a legacy value the original stored (e.g. `done`) is kept.
    pub status: Open<TaskStatus>,
    /// Per-session status of this task. Always emitted (`{}` when empty).
    #[serde(default)]
    pub task_session_statuses: BTreeMap<String, TaskSessionStatus>,
    /// Open on the wire, as in the original: known values get their meaning, any other
    /// non-empty string is stored verbatim.
    #[serde(default = "default_priority")]
    pub priority: Open<TaskPriority>,
    pub created_at: Millis,
    pub updated_at: Millis,
    #[serde(default)]
    pub started_at: Option<Millis>,
    #[serde(default)]
    pub completed_at: Option<Millis>,
    #[serde(default)]
    pub initial_prompt: String,
    #[serde(default)]
    pub session_ids: Vec<String>,
    #[serde(default)]
    pub skill_ids: Vec<String>,
    #[serde(default)]
    pub agent_ids: Vec<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub reference_task_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_ids: Option<Vec<String>>,
    /// The session holding the task's claim (`POST /api/tasks/:id/claim`); cleared when the
    /// claim is released or its session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// When that claim lapses unless renewed, as of its last claim (a claim that lapsed
    /// without a release keeps its past time here until the task is claimed again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_expires_at: Option<Millis>,
    /// The fencing token of that claim: a write carrying another token is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_fencing_token: Option<u64>,
    /// Keys this server does not know (`acceptanceCriteria`, `metadata`, …); preserved on rewrite.
    #[serde(flatten)]
    pub extra: JsonObject,
}

fn default_priority() -> Open<TaskPriority> {
    Open::Known(TaskPriority::Medium)
}

/// One entry of a session's `timeline`. `type` is open-ended (the CLI posts `task_status_changed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TimelineEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// One entry of a session's `events` (e.g. `file_modified` from the CLI hook).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionEvent {
    pub id: String,
    pub timestamp: Millis,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A document an agent attached to its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DocEntry {
    pub id: String,
    pub title: String,
    pub file_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    pub added_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<String>,
}

/// Whether a session waits for its user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NeedsInput {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Millis>,
    /// Answers the agent offers (issue 27; additive, not in the original): the phone shows
    /// them as one-tap replies. At most [`NeedsInput::MAX_OPTIONS`], each at most
    /// [`NeedsInput::MAX_OPTION_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

impl NeedsInput {
    /// Most answer options a question may offer.
    pub const MAX_OPTIONS: usize = 8;
    /// Longest answer option, in characters.
    pub const MAX_OPTION_CHARS: usize = 200;
}

/// Name, avatar and role of a team member, copied into a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberSnapshot {
    pub name: String,
    pub avatar: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_tool: Option<String>,
}

/// One running (or finished) agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub project_id: String,
    #[serde(default)]
    pub task_ids: Vec<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub status: SessionStatus,
    pub started_at: Millis,
    pub last_activity: Millis,
    #[serde(default)]
    pub completed_at: Option<Millis>,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub events: Vec<SessionEvent>,
    #[serde(default)]
    pub timeline: Vec<TimelineEvent>,
    #[serde(default)]
    pub docs: Vec<DocEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_input: Option<NeedsInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_snapshot: Option<TeamMemberSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_snapshots: Option<Vec<TeamMemberSnapshot>>,
    /// Keys this server does not know; preserved on rewrite.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl Session {
    /// Whether this session works for `team_member_id`, by its own fields or its spawn
    /// metadata (`metadata.teamMemberId` / `metadata.teamMemberIds`; DEFECTS C1).
    pub fn serves_team_member(&self, team_member_id: &str) -> bool {
        if self.team_member_id.as_deref() == Some(team_member_id)
            || self
                .team_member_ids
                .as_ref()
                .is_some_and(|ids| ids.iter().any(|i| i == team_member_id))
        {
            return true;
        }
        let Some(meta) = &self.metadata else {
            return false;
        };
        meta.get("teamMemberId").and_then(Value::as_str) == Some(team_member_id)
            || meta
                .get("teamMemberIds")
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(team_member_id)))
    }
}

/// A message between sessions of one project. `toSessionId: null` is a broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MailMessage {
    pub id: String,
    pub project_id: String,
    pub from_session_id: String,
    #[serde(default)]
    pub to_session_id: Option<String>,
    #[serde(default)]
    pub reply_to_mail_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: MailMessageType,
    pub subject: String,
    #[serde(default = "empty_object")]
    pub body: Value,
    pub created_at: Millis,
}

fn empty_object() -> Value {
    Value::Object(JsonObject::new())
}

/// UI display order of the tasks or sessions of one project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Ordering {
    pub project_id: String,
    pub entity_type: EntityType,
    #[serde(default)]
    pub ordered_ids: Vec<String>,
    pub updated_at: Millis,
}

/// What a team member may do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_spawn_sessions: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_edit_tasks: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_report_task_level: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_report_session_level: Option<bool>,
}

/// Which CLI command groups and commands a team member may run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommandPermissions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<BTreeMap<String, bool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<BTreeMap<String, bool>>,
}

/// A reusable agent identity of a project. Timestamps are ISO-8601 strings (not epoch ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub role: String,
    pub avatar: String,
    #[serde(default)]
    pub identity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_tool: Option<AgentTool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<AgentMode>,
    #[serde(default)]
    pub skill_ids: Vec<String>,
    #[serde(default)]
    pub is_default: bool,
    pub status: TeamMemberStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_permissions: Option<CommandPermissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_workflow: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Keys this server does not know; preserved on rewrite.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A built-in workflow template (served read-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTemplate {
    pub id: String,
    pub name: String,
    pub description: String,
    pub mode: AgentMode,
    pub phases: Vec<WorkflowPhase>,
    pub built_in: bool,
}

/// One phase of a workflow template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkflowPhase {
    pub name: String,
    pub instruction: String,
}

/// What a skill is for: defining an agent mode (frontmatter `role: orchestrator`, loaded by
/// coordinators) or a custom skill (loaded by workers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillKind {
    Mode,
    Custom,
}

impl SkillKind {
    /// The wire value (`type` of `GET /api/skills/:id`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mode => "mode",
            Self::Custom => "custom",
        }
    }
}

/// One skill of the catalog (API.md §8): `SKILLS_DIR/<id>/SKILL.md`, YAML frontmatter plus a
/// Markdown body of instructions.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    /// The directory name.
    pub id: String,
    /// The frontmatter `name`, else the id.
    pub name: String,
    pub description: String,
    /// The frontmatter `version` as a string, `1.0.0` when absent.
    pub version: String,
    pub kind: SkillKind,
    /// The optional frontmatter fields that were present (`triggers`, `role`, `scope`,
    /// `outputFormat`, `language`, `framework`, `tags`, `category`, `license`), by wire name.
    pub attributes: JsonObject,
    /// The Markdown body.
    pub instructions: String,
    /// Whether the skill has a `references/` directory, and how many entries it holds.
    pub has_references: bool,
    pub reference_count: usize,
}

impl Skill {
    /// Whether an agent of `mode` loads this skill (`GET /api/skills/mode/:mode`):
    /// coordinators load mode skills, workers custom ones.
    pub fn fits(&self, mode: AgentMode) -> bool {
        (self.kind == SkillKind::Mode) == (mode == AgentMode::Coordinate)
    }
}

string_enum!(
    /// A person's role on a shared project, weakest first: viewers read; editors also write
    /// tasks, sessions, mail and team members; owners also manage members and delete it.
    ProjectRole { Viewer = "viewer", Editor = "editor", Owner = "owner" }
);

/// A person a project is shared with (seed 000 "Multi-User Data Model").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectMember {
    pub project_id: String,
    /// The user's id (Supabase Auth `sub`).
    pub user_id: String,
    pub role: ProjectRole,
    /// The user's email, when the store knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub added_at: Millis,
}

/// A long-lived, revocable credential of a project, for agents started outside spawn (issue
/// "agents as principals"); optionally tied to one team member. The key itself is shown once,
/// when created: only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub project_id: String,
    /// What the key is for, as its creator named it.
    pub name: String,
    /// The team member (agent identity) the key belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    /// The key's first characters, to recognise it in a list (`mak1.<projectId>.<id>.ab12…`).
    pub hint: String,
    /// Who created it (a user id), when a user did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_at: Millis,
    /// SHA-256 (hex) of the whole key. Stored, never sent to clients.
    pub secret_hash: String,
}

/// A user account, as found by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: String,
    pub email: Option<String>,
}

#[cfg(test)]
mod tests;
