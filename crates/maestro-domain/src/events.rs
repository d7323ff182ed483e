//! Domain events (spec EVENTS.md §2) as one typed enum.
//!
//! Serialised adjacently tagged, `{"event": "task:created", "data": {...}}`, which is also the
//! form the Redis event bus carries between processes. `data` is exactly the original payload;
//! a few payloads carry an extra `projectId` key (additive: clients ignore unknown keys) so that
//! every event can be routed to its project's real-time room, deletions included.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{MailMessage, Millis, Project, Session, SpawnSource, Task, TeamMember};

/// `{id}` of a deleted entity, plus the project it belonged to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// A task ↔ session link was added or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub task_id: String,
    pub session_id: String,
    pub project_id: String,
}

/// `notify:task_*` for a task status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskNotice {
    pub task_id: String,
    pub title: String,
    pub project_id: String,
}

/// `notify:task_session_*` for one session's status on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSessionNotice {
    pub task_id: String,
    pub session_id: String,
    pub title: String,
    pub project_id: String,
}

/// `notify:session_completed|failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionNotice {
    pub session_id: String,
    pub name: String,
    pub project_id: String,
}

/// `task:claimed`: a session claimed (or renewed its claim on) a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskClaimed {
    pub task_id: String,
    pub project_id: String,
    pub session_id: String,
    pub fencing_token: u64,
    pub expires_at: Millis,
    /// The holder claimed again before its claim lapsed (same fencing token).
    pub renewed: bool,
}

/// `task:claim_released`: the task can be claimed again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimReleased {
    pub task_id: String,
    pub project_id: String,
    pub session_id: String,
    /// `released` (by its holder) or `session_ended` (the holder's session ended or its
    /// presence lapsed).
    pub reason: String,
}

/// `notify:needs_input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeedsInputNotice {
    pub session_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub project_id: String,
}

/// `notify:progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressNotice {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub project_id: String,
}

/// `session:modal`: an agent shows HTML to its user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModalShown {
    pub session_id: String,
    pub modal_id: String,
    pub title: String,
    pub html: String,
    pub file_path: String,
    pub timestamp: Millis,
    pub project_id: String,
}

/// `session:modal_action`: the user answered a modal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalAction {
    pub session_id: String,
    pub modal_id: String,
    pub action: String,
    pub data: Value,
    pub timestamp: Millis,
    pub project_id: String,
}

/// `session:modal_closed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModalClosed {
    pub session_id: String,
    pub modal_id: String,
    pub timestamp: Millis,
    pub project_id: String,
}

/// `session:spawn` (EVENTS.md §3): tells the desktop app to open a terminal for a new agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpawnRequest {
    pub session: Session,
    pub command: String,
    pub cwd: String,
    pub env_vars: BTreeMap<String, String>,
    pub manifest: Value,
    pub project_id: String,
    pub task_ids: Vec<String>,
    pub spawn_source: SpawnSource,
    pub parent_session_id: Option<String>,
    #[serde(rename = "_isSpawnCreated")]
    pub is_spawn_created: bool,
}

/// `project:members_changed`: somebody was added to a shared project, changed role or was
/// removed (`role` is `None` then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersChanged {
    pub project_id: String,
    pub user_id: String,
    /// `added`, `updated` or `removed`.
    pub action: String,
    pub role: Option<crate::model::ProjectRole>,
    pub timestamp: Millis,
}

/// `project:api_key_revoked`: a project API key was revoked; every instance closes the
/// sockets that authenticated with it (the key itself is never in an event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRevoked {
    pub project_id: String,
    pub key_id: String,
    pub timestamp: Millis,
}

macro_rules! domain_events {
    ($($variant:ident($payload:ty) = $name:literal),+ $(,)?) => {
        /// Every event the server emits. The serde tag is the exact wire name.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "event", content = "data")]
        pub enum DomainEvent {
            $(#[serde(rename = $name)] $variant($payload)),+
        }

        impl DomainEvent {
            /// Every wire name, in catalogue order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The wire name, e.g. `task:created`.
            pub fn name(&self) -> &'static str {
                match self { $(Self::$variant(_) => $name),+ }
            }

            /// The payload as JSON (`data` of the envelope).
            pub fn data(&self) -> Value {
                match self {
                    $(Self::$variant(p) => serde_json::to_value(p).unwrap_or(Value::Null)),+
                }
            }
        }
    };
}

domain_events! {
    ProjectCreated(Project) = "project:created",
    ProjectUpdated(Project) = "project:updated",
    ProjectDeleted(Deleted) = "project:deleted",
    ProjectMembersChanged(MembersChanged) = "project:members_changed",
    ProjectApiKeyRevoked(ApiKeyRevoked) = "project:api_key_revoked",
    TaskCreated(Task) = "task:created",
    TaskUpdated(Task) = "task:updated",
    TaskDeleted(Deleted) = "task:deleted",
    TaskSessionAdded(Link) = "task:session_added",
    TaskSessionRemoved(Link) = "task:session_removed",
    TaskClaimed(TaskClaimed) = "task:claimed",
    TaskClaimReleased(ClaimReleased) = "task:claim_released",
    SessionCreated(Session) = "session:created",
    SessionSpawn(Box<SpawnRequest>) = "session:spawn",
    SessionUpdated(Session) = "session:updated",
    SessionDeleted(Deleted) = "session:deleted",
    SessionTaskAdded(Link) = "session:task_added",
    SessionTaskRemoved(Link) = "session:task_removed",
    NotifyTaskCompleted(TaskNotice) = "notify:task_completed",
    NotifyTaskFailed(TaskNotice) = "notify:task_failed",
    NotifyTaskInReview(TaskNotice) = "notify:task_in_review",
    NotifyTaskBlocked(TaskNotice) = "notify:task_blocked",
    NotifyTaskSessionCompleted(TaskSessionNotice) = "notify:task_session_completed",
    NotifyTaskSessionFailed(TaskSessionNotice) = "notify:task_session_failed",
    NotifySessionCompleted(SessionNotice) = "notify:session_completed",
    NotifySessionFailed(SessionNotice) = "notify:session_failed",
    NotifyNeedsInput(NeedsInputNotice) = "notify:needs_input",
    NotifyProgress(ProgressNotice) = "notify:progress",
    SessionModal(ModalShown) = "session:modal",
    SessionModalAction(ModalAction) = "session:modal_action",
    SessionModalClosed(ModalClosed) = "session:modal_closed",
    TeamMemberCreated(TeamMember) = "team_member:created",
    TeamMemberUpdated(TeamMember) = "team_member:updated",
    TeamMemberDeleted(Deleted) = "team_member:deleted",
    TeamMemberArchived(TeamMember) = "team_member:archived",
    MailReceived(MailMessage) = "mail:received",
    MailDeleted(Deleted) = "mail:deleted",
}

impl DomainEvent {
    /// The session an event is scoped to, by the explicit table of EVENTS.md §4.4:
    /// `None` for project, team-member, task-entity, task-notify and mail events.
    pub fn session_id(&self) -> Option<&str> {
        use DomainEvent::*;
        match self {
            SessionCreated(s) | SessionUpdated(s) => Some(&s.id),
            SessionDeleted(d) => Some(&d.id),
            SessionSpawn(r) => Some(&r.session.id),
            TaskSessionAdded(l)
            | TaskSessionRemoved(l)
            | SessionTaskAdded(l)
            | SessionTaskRemoved(l) => Some(&l.session_id),
            NotifyTaskSessionCompleted(n) | NotifyTaskSessionFailed(n) => Some(&n.session_id),
            TaskClaimed(c) => Some(&c.session_id),
            TaskClaimReleased(c) => Some(&c.session_id),
            NotifySessionCompleted(n) | NotifySessionFailed(n) => Some(&n.session_id),
            NotifyNeedsInput(n) => Some(&n.session_id),
            NotifyProgress(n) => Some(&n.session_id),
            SessionModal(m) => Some(&m.session_id),
            SessionModalAction(m) => Some(&m.session_id),
            SessionModalClosed(m) => Some(&m.session_id),
            ProjectCreated(_)
            | ProjectUpdated(_)
            | ProjectDeleted(_)
            | ProjectMembersChanged(_)
            | ProjectApiKeyRevoked(_)
            | TaskCreated(_)
            | TaskUpdated(_)
            | TaskDeleted(_)
            | NotifyTaskCompleted(_)
            | NotifyTaskFailed(_)
            | NotifyTaskInReview(_)
            | NotifyTaskBlocked(_)
            | TeamMemberCreated(_)
            | TeamMemberUpdated(_)
            | TeamMemberDeleted(_)
            | TeamMemberArchived(_)
            | MailReceived(_)
            | MailDeleted(_) => None,
        }
    }

    /// The project an event belongs to. Every event has one, except a deletion whose
    /// project could not be resolved.
    pub fn project_id(&self) -> Option<&str> {
        use DomainEvent::*;
        match self {
            ProjectCreated(p) | ProjectUpdated(p) => Some(&p.id),
            ProjectDeleted(d) => Some(&d.id),
            ProjectMembersChanged(m) => Some(&m.project_id),
            ProjectApiKeyRevoked(k) => Some(&k.project_id),
            TaskCreated(t) | TaskUpdated(t) => Some(&t.project_id),
            SessionCreated(s) | SessionUpdated(s) => Some(&s.project_id),
            SessionSpawn(r) => Some(&r.project_id),
            TaskDeleted(d) | SessionDeleted(d) | TeamMemberDeleted(d) | MailDeleted(d) => {
                d.project_id.as_deref()
            }
            TaskSessionAdded(l)
            | TaskSessionRemoved(l)
            | SessionTaskAdded(l)
            | SessionTaskRemoved(l) => Some(&l.project_id),
            NotifyTaskCompleted(n)
            | NotifyTaskFailed(n)
            | NotifyTaskInReview(n)
            | NotifyTaskBlocked(n) => Some(&n.project_id),
            NotifyTaskSessionCompleted(n) | NotifyTaskSessionFailed(n) => Some(&n.project_id),
            TaskClaimed(c) => Some(&c.project_id),
            TaskClaimReleased(c) => Some(&c.project_id),
            NotifySessionCompleted(n) | NotifySessionFailed(n) => Some(&n.project_id),
            NotifyNeedsInput(n) => Some(&n.project_id),
            NotifyProgress(n) => Some(&n.project_id),
            SessionModal(m) => Some(&m.project_id),
            SessionModalAction(m) => Some(&m.project_id),
            SessionModalClosed(m) => Some(&m.project_id),
            TeamMemberCreated(m) | TeamMemberUpdated(m) | TeamMemberArchived(m) => {
                Some(&m.project_id)
            }
            MailReceived(m) => Some(&m.project_id),
        }
    }

    /// The real-time envelope `{type, event, data, timestamp}` (EVENTS.md §4.2).
    pub fn envelope(&self, timestamp: Millis) -> Value {
        json!({
            "type": self.name(),
            "event": self.name(),
            "data": self.data(),
            "timestamp": timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            task_id: "t1".into(),
            session_id: "s1".into(),
            project_id: "p1".into(),
        }
    }

    #[test]
    fn the_33_events_of_the_spec_plus_ours_have_distinct_names() {
        let mut names = DomainEvent::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        // EVENTS.md lists 33; `project:members_changed` (project sharing),
        // `project:api_key_revoked` and the two claim events are ours.
        assert_eq!(names.len(), 37);
        assert!(names.contains(&"project:members_changed"));
    }

    #[test]
    fn serialises_adjacently_tagged_with_wire_names() {
        let ev = DomainEvent::TaskSessionAdded(link());
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["event"], "task:session_added");
        assert_eq!(v["data"]["taskId"], "t1");
        let back: DomainEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn envelope_carries_name_twice() {
        let ev = DomainEvent::MailDeleted(Deleted {
            id: "m".into(),
            project_id: None,
        });
        let env = ev.envelope(42);
        assert_eq!(env["type"], "mail:deleted");
        assert_eq!(env["event"], "mail:deleted");
        assert_eq!(env["data"], json!({"id": "m"}));
        assert_eq!(env["timestamp"], 42);
    }

    #[test]
    fn link_events_are_session_scoped() {
        assert_eq!(
            DomainEvent::SessionTaskAdded(link()).session_id(),
            Some("s1")
        );
        assert_eq!(
            DomainEvent::SessionTaskAdded(link()).project_id(),
            Some("p1")
        );
    }
}
