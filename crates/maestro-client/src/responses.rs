//! Bodies the server answers with that are not domain entities.

use maestro_domain::model::Session;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{success, id}` of a delete (`{deleted, id}` for mail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    #[serde(default, alias = "deleted")]
    pub success: bool,
    pub id: String,
}

/// `POST /api/sessions/{id}/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAck {
    pub session_id: String,
    /// How long the session stays alive without another heartbeat.
    pub ttl_ms: u64,
    pub expires_at: i64,
}

/// `POST /api/sessions/spawn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spawned {
    pub session_id: String,
    pub manifest_path: String,
    pub message: String,
    pub session: Session,
}

/// `POST /api/tasks/{id}/claim`: the claim held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskClaim {
    pub task_id: String,
    pub session_id: String,
    /// Send it with task writes ([`crate::requests::TaskPatch::fencing_token`]).
    pub fencing_token: u64,
    pub expires_at: i64,
    pub renewed: bool,
}

/// `POST /api/tasks/{id}/timeline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskTimelineAck {
    pub task_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// One item of `GET /api/tasks/{id}/docs`: the domain's own type.
pub use maestro_domain::services::TaskDoc;

/// `POST /api/sessions/{id}/modal` and `…/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalAck {
    pub modal_id: String,
}

/// `POST /api/sessions/{id}/modal/{modalId}/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalActionAck {
    pub modal_id: String,
    #[serde(default)]
    pub action: Value,
}

/// `DELETE /api/projects/{id}/members/{userId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRemoved {
    pub project_id: String,
    pub user_id: String,
}

/// An API key as listed: everything but its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    pub id: String,
    pub project_id: String,
    pub name: String,
    #[serde(default)]
    pub team_member_id: Option<String>,
    pub hint: String,
    #[serde(default)]
    pub created_by: Option<String>,
    pub created_at: i64,
}

/// `POST /api/projects/{id}/api-keys`: the key itself, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    /// `mak1.<projectId>.<id>.<secret>`: store it now, it cannot be read again.
    pub key: String,
}

/// A device that receives Web Push, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionInfo {
    pub id: String,
    pub endpoint: String,
    #[serde(default)]
    pub muted_projects: Vec<String>,
    #[serde(default)]
    pub quiet_hours: Option<maestro_domain::model::QuietHours>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `GET /api/auth/config`: what a client needs to sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    /// `none`, `token` or `supabase`.
    pub auth_mode: String,
    /// The Supabase project to sign in with, in `supabase` mode.
    #[serde(default)]
    pub supabase: Option<SupabaseConfig>,
    /// Whether the server serves the web app at `/`.
    #[serde(default)]
    pub web_app: bool,
}

/// The public Supabase settings (`url`, `anonKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupabaseConfig {
    pub url: String,
    pub anon_key: String,
}
