//! Typed bodies of the answers that are not domain entities (deletes, acknowledgements, the
//! spawn result, API keys, skills, health, the error shape). Handlers render these types and
//! the OpenAPI document describes them with their `JsonSchema`: one type for both, so the
//! document cannot drift from what the server sends.

use std::collections::BTreeMap;

use maestro_domain::model::{ApiKey, JsonObject, MailMessage, Millis, Session, Skill};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The spec's error body (API.md "errors", E1): every non-2xx JSON answer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always `true`.
    pub error: bool,
    pub status_code: u16,
    /// Machine-readable: `VALIDATION_ERROR`, `NOT_FOUND`, `FORBIDDEN`, `UNAUTHORIZED`, …
    pub code: String,
    pub message: String,
    /// Field errors of a validation failure (`[{path, message}]`), or other detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// `{success: true, id}` of a delete.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Deleted {
    pub success: bool,
    pub id: String,
}

impl Deleted {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            success: true,
            id: id.into(),
        }
    }
}

/// `DELETE /api/mail/{id}`: `{deleted: true, id}` (not `success`, as in the original).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MailDeleted {
    pub deleted: bool,
    pub id: String,
}

/// `POST /api/mail`: one message, or an array when a team member had several active sessions.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MailSent {
    One(Box<MailMessage>),
    Many(Vec<MailMessage>),
}

impl From<Vec<MailMessage>> for MailSent {
    fn from(mut sent: Vec<MailMessage>) -> Self {
        if sent.len() == 1 {
            Self::One(Box::new(sent.remove(0)))
        } else {
            Self::Many(sent)
        }
    }
}

/// `DELETE /api/projects/{id}/members/{userId}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberRemoved {
    pub success: bool,
    pub project_id: String,
    pub user_id: String,
}

/// `POST /api/sessions/{id}/modal`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalShown {
    pub success: bool,
    pub modal_id: String,
    pub session_id: String,
    pub message: String,
}

/// `POST /api/sessions/{id}/modal/{modalId}/close`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalClosed {
    pub success: bool,
    pub modal_id: String,
}

/// `POST /api/sessions/{id}/modal/{modalId}/actions`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalActionAck {
    pub success: bool,
    pub modal_id: String,
    /// The action as sent.
    pub action: String,
}

/// `POST /api/sessions/spawn`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Spawned {
    pub success: bool,
    pub session_id: String,
    pub manifest_path: String,
    pub message: String,
    pub session: Session,
}

/// `POST /api/sessions/{id}/heartbeat`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAck {
    pub success: bool,
    pub session_id: String,
    /// How long the session stays alive without another heartbeat.
    pub ttl_ms: u64,
    pub expires_at: Millis,
}

/// `POST /api/tasks/{id}/timeline`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskTimelineAck {
    pub success: bool,
    pub task_id: String,
    pub session_id: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// An API key as clients see it: everything but its hash.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
    /// The key's last characters, to tell keys apart.
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_at: Millis,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id.clone(),
            project_id: k.project_id.clone(),
            name: k.name.clone(),
            team_member_id: k.team_member_id.clone(),
            hint: k.hint.clone(),
            created_by: k.created_by.clone(),
            created_at: k.created_at,
        }
    }
}

/// `POST /api/projects/{id}/api-keys`: the key itself, shown this once.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub info: ApiKeyView,
    /// `mak1.<projectId>.<keyId>.<secret>`.
    pub key: String,
}

/// `DELETE /api/projects/{id}/api-keys/{keyId}`: the revoked key.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiKeyRevoked {
    #[serde(flatten)]
    pub info: ApiKeyView,
    pub success: bool,
}

/// An item of `GET /api/skills`: the frontmatter's other keys (`triggers`, `role`, `scope`,
/// `outputFormat`, `language`, `framework`, `tags`, `category`, `license`) when set.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillListItem {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    #[serde(flatten)]
    pub attributes: JsonObject,
    /// The body of `SKILL.md`.
    pub content: String,
    pub has_references: bool,
    pub reference_count: u64,
}

impl From<&Skill> for SkillListItem {
    fn from(s: &Skill) -> Self {
        let mut attributes = s.attributes.clone();
        // These are fields of their own; a frontmatter key of the same name never doubles them.
        for k in [
            "id",
            "name",
            "description",
            "version",
            "content",
            "hasReferences",
            "referenceCount",
        ] {
            attributes.remove(k);
        }
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            version: s.version.clone(),
            attributes,
            content: s.instructions.clone(),
            has_references: s.has_references,
            reference_count: s.reference_count as u64,
        }
    }
}

/// `GET /api/skills/{id}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SkillDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `mode` for an orchestrator skill, else `custom`.
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    pub instructions: String,
}

/// An item of `GET /api/skills/mode/{mode}` (its `id` is the frontmatter name), and, with
/// `reloaded`, the answer of `POST /api/skills/{id}/reload` (whose `id` is the directory).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SkillSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reloaded: Option<bool>,
}

impl SkillSummary {
    pub fn for_mode(s: &Skill) -> Self {
        Self {
            id: s.name.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            kind: s.kind.as_str().to_string(),
            version: s.version.clone(),
            reloaded: None,
        }
    }
}

/// `GET /health`: `status` is `degraded` (still 200) when a backend probe reports `ok: false`;
/// one key per configured backend (`redis`, `supabase`: `{ok, pingMs | error}`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    pub timestamp: Millis,
    /// Seconds since the process started.
    pub uptime: f64,
    #[serde(flatten)]
    pub probes: BTreeMap<String, Value>,
}

/// `GET /health/live`: the process is up and serving (never looks at a backend).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
    /// Seconds since the process started.
    pub uptime: f64,
}

/// `GET /health/ready`: `200 {status: "ready"}` when every configured backend answers;
/// `503` with `status: "unavailable"` and the failing ones named in `failing` otherwise, and
/// `503 {status: "draining"}` once the server is shutting down.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Readiness {
    /// `ready`, `unavailable` or `draining`.
    pub status: String,
    /// Names of the backends that did not answer (`redis`, `supabase`, `dataDir`).
    pub failing: Vec<String>,
    /// Each backend's report (`{ok, …details}`).
    pub checks: BTreeMap<String, Value>,
}

/// `GET /ws-status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WsStatus {
    /// Raw WebSocket clients.
    pub connected_clients: usize,
    pub clients: Vec<WsClient>,
    pub socket_io: SocketIoCounts,
    /// Clients disconnected because they could not keep up.
    pub evicted_slow_clients: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WsClient {
    pub ready_state: u8,
    pub ready_state_text: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SocketIoCounts {
    pub ui: usize,
    pub mobile: usize,
}

/// `GET /api/auth/config`: what a client needs to sign in.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// `none`, `token` or `supabase`.
    pub auth_mode: String,
    /// The Supabase project to sign in with, in `supabase` mode (else `null`).
    pub supabase: Option<SupabaseSignIn>,
    /// Whether the server serves the web app at `/`.
    pub web_app: bool,
    /// Whether spawning an agent can work on this server now (issue 27): the app offers
    /// spawn only where it can.
    pub spawn: SpawnAvailability,
    /// Web Push (issue 27): the key browsers subscribe with; `null` when this server does
    /// not push.
    pub push: Option<PushConfig>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushConfig {
    /// The VAPID public key (base64url): `pushManager.subscribe`'s `applicationServerKey`.
    pub public_key: String,
}

/// `POST /api/sessions/{id}/reply`: the mail that carried the answer and the session, no
/// longer waiting.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplySent {
    pub success: bool,
    pub mail: maestro_domain::model::MailMessage,
    pub session: maestro_domain::model::Session,
}

/// A device's push subscription as its owner sees it (the keys are not repeated).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionView {
    pub id: String,
    pub endpoint: String,
    pub muted_projects: Vec<String>,
    pub quiet_hours: Option<maestro_domain::model::QuietHours>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&maestro_domain::model::PushSubscription> for PushSubscriptionView {
    fn from(s: &maestro_domain::model::PushSubscription) -> Self {
        Self {
            id: s.id.clone(),
            endpoint: s.endpoint.clone(),
            muted_projects: s.muted_projects.clone(),
            quiet_hours: s.quiet_hours.clone(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpawnAvailability {
    pub available: bool,
    /// Why not, for a person to read (`null` when available).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupabaseSignIn {
    pub url: String,
    pub anon_key: String,
}
