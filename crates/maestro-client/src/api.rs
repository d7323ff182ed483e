//! One method per route, grouped as the server's route table is.

use std::time::Duration;

use maestro_domain::model::{
    AgentMode, DocEntry, EntityType, MailMessage, Ordering, Project, ProjectMember, Session, Task,
    TeamMember, WorkflowTemplate,
};
use maestro_domain::ports::PresenceEntry;
use maestro_domain::services::PersonInbox;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Call, Client};
use crate::error::ClientError;
use crate::requests::*;
use crate::responses::*;
use crate::routes::*;

type Result<T> = std::result::Result<T, ClientError>;

/// Server status and metadata.
impl Client {
    /// `GET /health`: `{status, timestamp, uptime, …backend probes}`.
    pub async fn health(&self) -> Result<Value> {
        self.send(Call::new(HEALTH, &[])).await
    }

    /// `GET /health/live`: `{status: "ok", uptime}` while the process serves.
    pub async fn health_live(&self) -> Result<Value> {
        self.send(Call::new(HEALTH_LIVE, &[])).await
    }

    /// `GET /health/ready`: `{status: "ready", failing: [], checks}`; a backend that does not
    /// answer makes it a 503 ([`ClientError::Api`] with the same body, naming it in
    /// `failing`).
    pub async fn health_ready(&self) -> Result<Value> {
        self.send(Call::new(HEALTH_READY, &[])).await
    }

    /// `GET /ws-status`: connected WebSocket and Socket.IO clients.
    pub async fn ws_status(&self) -> Result<Value> {
        self.send(Call::new(WS_STATUS, &[])).await
    }

    /// `GET /api/auth/config`: the auth mode and the Supabase sign-in settings (public).
    pub async fn auth_config(&self) -> Result<AuthConfig> {
        self.send(Call::new(AUTH_CONFIG, &[])).await
    }

    /// `GET /api/openapi.json`.
    pub async fn openapi(&self) -> Result<Value> {
        self.send(Call::new(OPENAPI, &[])).await
    }

    /// `GET /api/presence`: live sessions the caller may see.
    pub async fn presence(&self) -> Result<Vec<PresenceEntry>> {
        self.send(Call::new(PRESENCE, &[])).await
    }
}

/// Projects, members and API keys.
impl Client {
    pub async fn list_projects(&self) -> Result<Vec<Project>> {
        self.send(Call::new(PROJECTS, &[])).await
    }

    pub async fn create_project(&self, p: &ProjectInput) -> Result<Project> {
        self.send(Call::new(PROJECT_CREATE, &[]).json(p)?).await
    }

    pub async fn get_project(&self, id: &str) -> Result<Project> {
        self.send(Call::new(PROJECT, &[id])).await
    }

    pub async fn update_project(&self, id: &str, p: &ProjectInput) -> Result<Project> {
        self.send(Call::new(PROJECT_UPDATE, &[id]).json(p)?).await
    }

    pub async fn delete_project(&self, id: &str) -> Result<Deleted> {
        self.send(Call::new(PROJECT_DELETE, &[id])).await
    }

    pub async fn list_members(&self, project_id: &str) -> Result<Vec<ProjectMember>> {
        self.send(Call::new(MEMBERS, &[project_id])).await
    }

    pub async fn add_member(&self, project_id: &str, m: &AddMember) -> Result<ProjectMember> {
        self.send(Call::new(MEMBER_ADD, &[project_id]).json(m)?)
            .await
    }

    pub async fn set_member_role(
        &self,
        project_id: &str,
        user_id: &str,
        role: &str,
    ) -> Result<ProjectMember> {
        self.send(Call::new(MEMBER_ROLE, &[project_id, user_id]).json(&json!({"role": role}))?)
            .await
    }

    pub async fn remove_member(&self, project_id: &str, user_id: &str) -> Result<MemberRemoved> {
        self.send(Call::new(MEMBER_REMOVE, &[project_id, user_id]))
            .await
    }

    pub async fn list_api_keys(&self, project_id: &str) -> Result<Vec<ApiKeyInfo>> {
        self.send(Call::new(API_KEYS, &[project_id])).await
    }

    pub async fn create_api_key(&self, project_id: &str, k: &NewApiKey) -> Result<ApiKeyCreated> {
        self.send(Call::new(API_KEY_CREATE, &[project_id]).json(k)?)
            .await
    }

    pub async fn revoke_api_key(&self, project_id: &str, key_id: &str) -> Result<ApiKeyInfo> {
        self.send(Call::new(API_KEY_REVOKE, &[project_id, key_id]))
            .await
    }
}

/// Web Push: the caller's devices.
impl Client {
    /// The person answers the session's question (its `needsInput`).
    pub async fn reply_to_session(&self, session_id: &str, message: &str) -> Result<Value> {
        self.send(Call::new(SESSION_REPLY, &[session_id]).json(&json!({ "message": message }))?)
            .await
    }

    pub async fn list_push_subscriptions(&self) -> Result<Vec<PushSubscriptionInfo>> {
        self.send(Call::new(PUSH_SUBSCRIPTIONS, &[])).await
    }

    /// Registers a device, or updates it when its endpoint is known.
    pub async fn subscribe_push(&self, s: &NewPushSubscription) -> Result<PushSubscriptionInfo> {
        self.send(Call::new(PUSH_SUBSCRIBE, &[]).json(s)?).await
    }

    pub async fn unsubscribe_push(&self, endpoint: &str) -> Result<Value> {
        self.send(Call::new(PUSH_UNSUBSCRIBE, &[]).query("endpoint", Some(endpoint)))
            .await
    }

    /// The person's inbox over the caller's projects: failures and mail after `since` (ms;
    /// the server's default is the last week), every agent and approval still waiting.
    pub async fn person_inbox(&self, since: Option<i64>) -> Result<PersonInbox> {
        self.send(Call::new(INBOX, &[]).query("since", since)).await
    }
}

/// Tasks.
impl Client {
    pub async fn list_tasks(&self, q: &TaskQuery) -> Result<Vec<Task>> {
        let parent = q
            .parent_id
            .as_ref()
            .map(|p| p.clone().unwrap_or_else(|| "null".into()));
        self.send(
            Call::new(TASKS, &[])
                .query("projectId", q.project_id.as_ref())
                .query("status", q.status.map(|s| s.as_str()))
                .query("parentId", parent),
        )
        .await
    }

    pub async fn create_task(&self, t: &NewTask) -> Result<Task> {
        self.send(Call::new(TASK_CREATE, &[]).json(t)?).await
    }

    pub async fn get_task(&self, id: &str) -> Result<Task> {
        self.send(Call::new(TASK, &[id])).await
    }

    pub async fn update_task(&self, id: &str, p: &TaskPatch) -> Result<Task> {
        self.send(Call::new(TASK_UPDATE, &[id]).json(p)?).await
    }

    /// Deletes the task and its descendants.
    pub async fn delete_task(&self, id: &str) -> Result<Deleted> {
        self.send(Call::new(TASK_DELETE, &[id])).await
    }

    pub async fn add_task_timeline(
        &self,
        id: &str,
        t: &TaskTimelineInput,
    ) -> Result<TaskTimelineAck> {
        self.send(Call::new(TASK_TIMELINE, &[id]).json(t)?).await
    }

    pub async fn task_docs(&self, id: &str) -> Result<Vec<TaskDoc>> {
        self.send(Call::new(TASK_DOCS, &[id])).await
    }

    pub async fn task_children(&self, id: &str) -> Result<Vec<Task>> {
        self.send(Call::new(TASK_CHILDREN, &[id])).await
    }

    /// Claims the task for a session (or renews its claim); another holder is a 409
    /// `TASK_CLAIMED` error whose `details` carry `heldBy` and `expiresAt`.
    pub async fn claim_task(&self, id: &str, c: &ClaimTask) -> Result<TaskClaim> {
        self.send(Call::new(TASK_CLAIM, &[id]).json(c)?).await
    }

    /// Releases the task's claim held by `session_id` (`None`: the caller's own session,
    /// with a session token); returns the task.
    pub async fn release_task_claim(&self, id: &str, session_id: Option<&str>) -> Result<Task> {
        self.send(Call::new(TASK_CLAIM_RELEASE, &[id]).query("sessionId", session_id))
            .await
    }
}

/// Sessions.
impl Client {
    pub async fn create_session(&self, s: &NewSession) -> Result<Session> {
        self.send(Call::new(SESSION_CREATE, &[]).json(s)?).await
    }

    pub async fn list_sessions(&self, q: &SessionQuery) -> Result<Vec<Session>> {
        self.send(
            Call::new(SESSIONS, &[])
                .query("projectId", q.project_id.as_ref())
                .query("taskId", q.task_id.as_ref())
                .query("status", q.status.map(|s| s.as_str()))
                .query("active", q.active.then_some("true")),
        )
        .await
    }

    pub async fn get_session(&self, id: &str) -> Result<Session> {
        self.send(Call::new(SESSION, &[id])).await
    }

    pub async fn update_session(&self, id: &str, p: &SessionPatch) -> Result<Session> {
        self.send(Call::new(SESSION_UPDATE, &[id]).json(p)?).await
    }

    pub async fn delete_session(&self, id: &str) -> Result<Deleted> {
        self.send(Call::new(SESSION_DELETE, &[id])).await
    }

    pub async fn add_session_event(&self, id: &str, e: &SessionEventInput) -> Result<Session> {
        self.send(Call::new(SESSION_EVENT, &[id]).json(e)?).await
    }

    pub async fn add_session_timeline(
        &self,
        id: &str,
        t: &SessionTimelineInput,
    ) -> Result<Session> {
        self.send(Call::new(SESSION_TIMELINE, &[id]).json(t)?).await
    }

    pub async fn add_session_doc(&self, id: &str, d: &DocInput) -> Result<Session> {
        self.send(Call::new(SESSION_DOC_ADD, &[id]).json(d)?).await
    }

    pub async fn session_docs(&self, id: &str) -> Result<Vec<DocEntry>> {
        self.send(Call::new(SESSION_DOCS, &[id])).await
    }

    pub async fn link_session_task(&self, id: &str, task_id: &str) -> Result<Session> {
        self.send(Call::new(SESSION_LINK, &[id, task_id])).await
    }

    pub async fn unlink_session_task(&self, id: &str, task_id: &str) -> Result<Session> {
        self.send(Call::new(SESSION_UNLINK, &[id, task_id])).await
    }

    pub async fn show_modal(&self, id: &str, m: &ShowModal) -> Result<ModalAck> {
        self.send(Call::new(SESSION_MODAL, &[id]).json(m)?).await
    }

    pub async fn modal_action(
        &self,
        id: &str,
        modal_id: &str,
        a: &ModalAction,
    ) -> Result<ModalActionAck> {
        self.send(Call::new(SESSION_MODAL_ACTION, &[id, modal_id]).json(a)?)
            .await
    }

    pub async fn close_modal(&self, id: &str, modal_id: &str) -> Result<ModalAck> {
        self.send(Call::new(SESSION_MODAL_CLOSE, &[id, modal_id]).json(&json!({}))?)
            .await
    }

    /// Asks the desktop app to start an agent; the session is created `spawning`.
    pub async fn spawn_session(&self, s: &SpawnRequest) -> Result<Spawned> {
        self.send(Call::new(SESSION_SPAWN, &[]).json(s)?).await
    }

    /// Keeps a session alive for the heartbeat TTL.
    pub async fn heartbeat(&self, id: &str) -> Result<HeartbeatAck> {
        self.send(Call::new(SESSION_HEARTBEAT, &[id]).json(&json!({}))?)
            .await
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<MailMessage>),
    One(Box<MailMessage>),
}

/// Mail.
impl Client {
    /// Sends mail; a project-wide or team-member mail may fan out to several messages, so
    /// every message created is returned.
    pub async fn send_mail(&self, m: &SendMail) -> Result<Vec<MailMessage>> {
        let sent: OneOrMany = self.send(Call::new(MAIL_SEND, &[]).json(m)?).await?;
        Ok(match sent {
            OneOrMany::Many(v) => v,
            OneOrMany::One(m) => vec![*m],
        })
    }

    pub async fn inbox(&self, session_id: &str, q: &InboxQuery) -> Result<Vec<MailMessage>> {
        self.send(
            Call::new(MAIL_INBOX, &[session_id])
                .query("projectId", Some(&q.project_id))
                .query("type", q.kind.map(|k| k.as_str()))
                .query("since", q.since),
        )
        .await
    }

    /// Long-polls until mail for the session arrives or the timeout passes (then `[]`).
    pub async fn wait_mail(&self, session_id: &str, q: &WaitQuery) -> Result<Vec<MailMessage>> {
        let params = [session_id];
        let mut call = Call::new(MAIL_WAIT, &params)
            .query("projectId", Some(&q.project_id))
            .query("timeout", q.timeout_ms)
            .query("since", q.since);
        call.extra_time = Duration::from_millis(q.timeout_ms.unwrap_or(30_000));
        self.send(call).await
    }

    pub async fn get_mail(&self, id: &str) -> Result<MailMessage> {
        self.send(Call::new(MAIL, &[id])).await
    }

    pub async fn delete_mail(&self, id: &str) -> Result<Deleted> {
        self.send(Call::new(MAIL_DELETE, &[id])).await
    }
}

/// Skills, orderings, team members and workflow templates.
impl Client {
    pub async fn list_skills(&self) -> Result<Vec<Value>> {
        self.send(Call::new(SKILLS, &[])).await
    }

    pub async fn get_skill(&self, id: &str) -> Result<Value> {
        self.send(Call::new(SKILL, &[id])).await
    }

    pub async fn skills_for_mode(&self, mode: AgentMode) -> Result<Vec<Value>> {
        self.send(Call::new(SKILLS_FOR_MODE, &[mode.as_str()]))
            .await
    }

    pub async fn reload_skill(&self, id: &str) -> Result<Value> {
        self.send(Call::new(SKILL_RELOAD, &[id]).json(&json!({}))?)
            .await
    }

    pub async fn get_ordering(&self, kind: EntityType, project_id: &str) -> Result<Ordering> {
        self.send(Call::new(ORDERING, &[kind.as_str(), project_id]))
            .await
    }

    pub async fn save_ordering(
        &self,
        kind: EntityType,
        project_id: &str,
        ordered_ids: &[String],
    ) -> Result<Ordering> {
        self.send(
            Call::new(ORDERING_SAVE, &[kind.as_str(), project_id])
                .json(&json!({"orderedIds": ordered_ids}))?,
        )
        .await
    }

    pub async fn list_team_members(&self, project_id: &str) -> Result<Vec<TeamMember>> {
        self.send(Call::new(TEAM_MEMBERS, &[]).query("projectId", Some(project_id)))
            .await
    }

    pub async fn create_team_member(&self, m: &NewTeamMember) -> Result<TeamMember> {
        self.send(Call::new(TEAM_MEMBER_CREATE, &[]).json(m)?).await
    }

    pub async fn get_team_member(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        self.send(Call::new(TEAM_MEMBER, &[id]).query("projectId", Some(project_id)))
            .await
    }

    pub async fn update_team_member(&self, id: &str, p: &TeamMemberPatch) -> Result<TeamMember> {
        self.send(Call::new(TEAM_MEMBER_UPDATE, &[id]).json(p)?)
            .await
    }

    pub async fn delete_team_member(&self, project_id: &str, id: &str) -> Result<Deleted> {
        self.send(Call::new(TEAM_MEMBER_DELETE, &[id]).query("projectId", Some(project_id)))
            .await
    }

    pub async fn archive_team_member(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        self.send(Call::new(TEAM_MEMBER_ARCHIVE, &[id]).json(&json!({"projectId": project_id}))?)
            .await
    }

    pub async fn unarchive_team_member(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        self.send(Call::new(TEAM_MEMBER_UNARCHIVE, &[id]).json(&json!({"projectId": project_id}))?)
            .await
    }

    pub async fn reset_team_member(&self, project_id: &str, id: &str) -> Result<TeamMember> {
        self.send(Call::new(TEAM_MEMBER_RESET, &[id]).json(&json!({"projectId": project_id}))?)
            .await
    }

    pub async fn list_workflow_templates(
        &self,
        mode: Option<AgentMode>,
    ) -> Result<Vec<WorkflowTemplate>> {
        self.send(Call::new(TEMPLATES, &[]).query("mode", mode.map(|m| m.as_str())))
            .await
    }

    pub async fn get_workflow_template(&self, id: &str) -> Result<WorkflowTemplate> {
        self.send(Call::new(TEMPLATE, &[id])).await
    }
}
