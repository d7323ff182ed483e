//! Sessions (API.md §6, without spawn).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::rename_not_found;
use crate::error::{DomainError, Result};
use crate::events::{Deleted, DomainEvent, Link, NeedsInputNotice, ProgressNotice, SessionNotice};
use crate::model::{
    DocEntry, JsonObject, NeedsInput, Session, SessionEvent, SessionStatus, Task,
    TaskSessionStatus, TimelineEvent,
};
use crate::ports::SessionFilter;
use crate::services::{Context, Seen, links};
use crate::validate;

/// Most `events` a session keeps; older ones are dropped first (DEFECTS O1).
pub const MAX_SESSION_EVENTS: usize = 1_000;
/// Most `timeline` entries a session keeps; older ones are dropped first (DEFECTS O1).
pub const MAX_TIMELINE_ENTRIES: usize = 5_000;
/// Largest inline doc `content`, in bytes (DEFECTS O1).
pub const MAX_DOC_CONTENT: usize = 1024 * 1024;
/// Longest timeline `type` (DEFECTS K7).
pub const MAX_TIMELINE_TYPE: usize = 100;

/// Body of `POST /api/sessions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSession {
    /// Client-chosen id (CLI `session register`); must be a safe id and not exist yet.
    pub id: Option<String>,
    pub project_id: Option<String>,
    pub task_ids: Option<Vec<String>>,
    /// Single-task shorthand, used when `task_ids` is absent.
    pub task_id: Option<String>,
    pub name: Option<String>,
    pub agent_id: Option<String>,
    pub status: Option<SessionStatus>,
    pub env: Option<BTreeMap<String, String>>,
    pub metadata: Option<JsonObject>,
}

/// Query of `GET /api/sessions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionQuery {
    pub project_id: Option<String>,
    pub task_id: Option<String>,
    pub status: Option<SessionStatus>,
    /// Only `spawning`, `idle` and `working` sessions (DEFECTS C17).
    pub active: bool,
}

/// Body of `PATCH /api/sessions/:id` (API.md #19).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionPatch {
    pub task_ids: Option<Vec<String>>,
    pub status: Option<SessionStatus>,
    pub agent_id: Option<String>,
    pub env: Option<BTreeMap<String, String>>,
    pub events: Option<Vec<SessionEvent>>,
    pub timeline: Option<Vec<TimelineEvent>>,
    pub needs_input: Option<NeedsInput>,
}

impl SessionPatch {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Body of `POST /api/sessions/:id/timeline`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimelineInput {
    pub message: Option<String>,
    /// Open-ended type, default `progress`.
    pub kind: Option<String>,
    pub task_id: Option<String>,
    pub metadata: Option<Value>,
}

/// Body of `POST /api/sessions/:id/docs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocInput {
    pub title: Option<String>,
    pub file_path: Option<String>,
    pub content: Option<String>,
    pub task_id: Option<String>,
}

#[derive(Clone)]
pub struct SessionService {
    ctx: Arc<Context>,
}

impl SessionService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    pub async fn list(&self, q: &SessionQuery) -> Result<Vec<Session>> {
        let statuses = match (q.status, q.active) {
            (Some(s), true) => Some(if s.is_active() { vec![s] } else { vec![] }),
            (Some(s), false) => Some(vec![s]),
            (None, true) => Some(vec![
                SessionStatus::Spawning,
                SessionStatus::Idle,
                SessionStatus::Working,
            ]),
            (None, false) => None,
        };
        self.ctx
            .ports
            .sessions
            .list(&SessionFilter {
                project_id: q.project_id.clone(),
                task_id: q.task_id.clone(),
                statuses,
            })
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Session> {
        self.ctx
            .ports
            .sessions
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Session", id))
    }

    /// `POST /api/sessions`: creates the session with one `task_started` entry per task, links
    /// the tasks, then emits `session:created` and `task:session_added` per task.
    pub async fn create(&self, input: NewSession) -> Result<Session> {
        let session = self.create_linked(input, "Started working on task").await?;
        self.ctx
            .emit(DomainEvent::SessionCreated(session.clone()))
            .await;
        for task_id in &session.task_ids {
            self.ctx
                .emit(DomainEvent::TaskSessionAdded(Link {
                    task_id: task_id.clone(),
                    session_id: session.id.clone(),
                    project_id: session.project_id.clone(),
                }))
                .await;
        }
        Ok(session)
    }

    /// Validates, stores and links a new session without emitting anything (spawn emits its
    /// own events).
    pub(crate) async fn create_linked(&self, input: NewSession, message: &str) -> Result<Session> {
        let task_ids = match (input.task_ids, input.task_id) {
            (Some(ids), _) => ids,
            (None, Some(id)) => vec![id],
            (None, None) => {
                return Err(DomainError::invalid_field("taskIds", "taskIds is required"));
            }
        };
        let project_id = input
            .project_id
            .filter(|p| !p.is_empty())
            .ok_or_else(|| DomainError::invalid_field("projectId", "Project ID is required"))?;
        if let Some(id) = &input.id {
            validate::safe_id("id", id)?;
        }
        let ports = &self.ctx.ports;
        if ports.projects.get(&project_id).await?.is_none() {
            return Err(DomainError::not_found("Project", &project_id));
        }
        let mut unique: Vec<String> = Vec::with_capacity(task_ids.len());
        for task_id in task_ids {
            let task = ports
                .tasks
                .get(&task_id)
                .await?
                .ok_or_else(|| DomainError::not_found("Task", &task_id))?;
            if task.project_id != project_id {
                return Err(DomainError::BusinessRule(format!(
                    "Task '{task_id}' belongs to another project"
                )));
            }
            if !unique.contains(&task_id) {
                unique.push(task_id);
            }
        }
        let now = self.ctx.now();
        let id = match input.id {
            Some(id) => id,
            None => self.ctx.new_id("sess"),
        };
        let mut timeline = vec![TimelineEvent {
            id: self.ctx.new_id("evt"),
            kind: "session_started".into(),
            timestamp: now,
            message: Some("Session created".into()),
            task_id: None,
            metadata: None,
        }];
        for task_id in &unique {
            push_capped(
                &mut timeline,
                TimelineEvent {
                    id: self.ctx.new_id("evt"),
                    kind: "task_started".into(),
                    timestamp: now,
                    message: Some(message.to_string()),
                    task_id: Some(task_id.clone()),
                    metadata: None,
                },
                MAX_TIMELINE_ENTRIES,
            );
        }
        let session = Session {
            id: id.clone(),
            project_id,
            task_ids: unique,
            name: input
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "Unnamed Session".into()),
            agent_id: input.agent_id,
            env: input.env.unwrap_or_default(),
            status: input.status.unwrap_or(SessionStatus::Idle),
            started_at: now,
            last_activity: now,
            completed_at: None,
            hostname: self.ctx.host.hostname.clone(),
            platform: self.ctx.host.platform.clone(),
            events: Vec::new(),
            timeline,
            docs: Vec::new(),
            metadata: input.metadata,
            needs_input: None,
            team_member_id: None,
            team_member_snapshot: None,
            team_member_ids: None,
            team_member_snapshots: None,
            extra: JsonObject::new(),
        };
        let session = ports.sessions.create(session).await.map_err(|e| match e {
            DomainError::Conflict(_) => {
                DomainError::Conflict(format!("Session with id '{id}' already exists"))
            }
            other => other,
        })?;
        for task_id in &session.task_ids {
            links::add_session_to_task(&self.ctx, task_id, &session.id).await?;
        }
        Ok(session)
    }

    /// `PATCH /api/sessions/:id` with the stop guard, terminal stamp, propagation into the
    /// linked tasks and the events of EVENTS.md §5.
    pub async fn update(&self, id: &str, mut patch: SessionPatch) -> Result<Session> {
        let current = self.get(id).await?;
        // Stop guard (DEFECTS C15): `stopped` never overwrites `completed` or `failed`.
        if patch.status == Some(SessionStatus::Stopped)
            && matches!(
                current.status,
                SessionStatus::Completed | SessionStatus::Failed
            )
        {
            patch.status = None;
        }
        if patch.is_empty() {
            return Ok(current);
        }
        // A repeated id is one link (`["a","b","a"]` = `["a","b"]`), first occurrence wins.
        if let Some(ids) = patch.task_ids.take() {
            let mut seen = std::collections::HashSet::new();
            patch.task_ids = Some(ids.into_iter().filter(|t| seen.insert(t.clone())).collect());
        }
        // taskIds replacement keeps both sides consistent (DEFECTS C10).
        if let Some(wanted) = &patch.task_ids {
            for gone in current.task_ids.iter().filter(|t| !wanted.contains(t)) {
                match links::unlink(&self.ctx, id, gone).await {
                    Ok(_) | Err(DomainError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            for new in wanted.iter().filter(|t| !current.task_ids.contains(t)) {
                links::link(&self.ctx, id, new, "Added task to session").await?;
            }
        }
        let now = self.ctx.now();
        let seen = Seen::new();
        let session = self
            .ctx
            .ports
            .sessions
            .update(id, &|s: &mut Session| {
                seen.keep(s);
                apply_patch(s, &patch, now);
                Ok(())
            })
            .await
            .map_err(|e| rename_not_found(e, "Session", id))?;
        let before = seen.take().unwrap_or_else(|| current.clone());
        if let Some(status) = patch.status.filter(|s| s.is_terminal()) {
            self.propagate_terminal(&session, status).await?;
        }
        self.emit_updated(&before, &session).await;
        Ok(session)
    }

    /// Sets `taskSessionStatuses[session]` of every linked task still `working`/`blocked` to
    /// `completed` (session completed) or `failed` (failed/stopped), with `task:updated`. As in
    /// the original, no `notify:task_session_*` here: those come only from a task PATCH
    /// (issue 11; the session's own `notify:session_*` already tells the UI).
    async fn propagate_terminal(&self, session: &Session, status: SessionStatus) -> Result<()> {
        let target = if status == SessionStatus::Completed {
            TaskSessionStatus::Completed
        } else {
            TaskSessionStatus::Failed
        };
        let now = self.ctx.now();
        for task_id in &session.task_ids {
            let seen = Seen::new();
            let result = self
                .ctx
                .ports
                .tasks
                .update(task_id, &|t: &mut Task| {
                    seen.keep(t);
                    if let Some(s) = t.task_session_statuses.get_mut(&session.id)
                        && matches!(s, TaskSessionStatus::Working | TaskSessionStatus::Blocked)
                    {
                        *s = target;
                        t.updated_at = now;
                    }
                    Ok(())
                })
                .await;
            let task = match result {
                Ok(task) => task,
                Err(DomainError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let before = seen.take().unwrap_or_else(|| task.clone());
            if before != task {
                self.ctx.emit(DomainEvent::TaskUpdated(task.clone())).await;
            }
        }
        Ok(())
    }

    /// `session:updated`, then `notify:session_completed|failed` when the status changed to
    /// it, then `notify:needs_input` on a rising edge of `needsInput.active` (DEFECTS C18).
    async fn emit_updated(&self, before: &Session, after: &Session) {
        self.ctx
            .emit(DomainEvent::SessionUpdated(after.clone()))
            .await;
        if before.status != after.status {
            let notice = SessionNotice {
                session_id: after.id.clone(),
                name: after.name.clone(),
                project_id: after.project_id.clone(),
            };
            match after.status {
                SessionStatus::Completed => {
                    self.ctx
                        .emit(DomainEvent::NotifySessionCompleted(notice))
                        .await
                }
                SessionStatus::Failed => {
                    self.ctx
                        .emit(DomainEvent::NotifySessionFailed(notice))
                        .await
                }
                _ => {}
            }
        }
        let was_active = before.needs_input.as_ref().is_some_and(|n| n.active);
        if let Some(n) = after
            .needs_input
            .as_ref()
            .filter(|n| n.active && !was_active)
        {
            self.ctx
                .emit(DomainEvent::NotifyNeedsInput(NeedsInputNotice {
                    session_id: after.id.clone(),
                    name: after.name.clone(),
                    message: n.message.clone(),
                    project_id: after.project_id.clone(),
                }))
                .await;
        }
    }

    /// An agent stopped heartbeating: a `spawning`/`idle`/`working` session becomes `failed`
    /// (timeline reason `agent_disconnected`) with `session:updated` and
    /// `notify:session_failed`. The check-and-set is one atomic update, so with several
    /// server instances reacting to the same expiry exactly one of them emits. Returns the
    /// failed session, or `None` when there was nothing to do.
    pub async fn mark_disconnected(&self, id: &str) -> Result<Option<Session>> {
        let now = self.ctx.now();
        let entry_id = self.ctx.new_id("evt");
        let seen = Seen::new();
        let result = self
            .mutate(id, &|s: &mut Session| {
                seen.keep(s);
                if s.status.is_active() {
                    s.status = SessionStatus::Failed;
                    s.completed_at = Some(now);
                    s.last_activity = now;
                    push_capped(
                        &mut s.timeline,
                        TimelineEvent {
                            id: entry_id.clone(),
                            kind: "error".into(),
                            timestamp: now,
                            message: Some("Agent disconnected (no heartbeat)".into()),
                            task_id: None,
                            metadata: Some(json!({"reason": "agent_disconnected"})),
                        },
                        MAX_TIMELINE_ENTRIES,
                    );
                }
                Ok(())
            })
            .await;
        let session = match result {
            Ok(s) => s,
            Err(DomainError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let before = seen.take().unwrap_or_else(|| session.clone());
        if before.status == session.status {
            return Ok(None);
        }
        self.propagate_terminal(&session, SessionStatus::Failed)
            .await?;
        self.emit_updated(&before, &session).await;
        Ok(Some(session))
    }

    /// `DELETE /api/sessions/:id`: unlinks every task (with `task:session_removed`, DEFECTS
    /// C10), deletes the session and emits `session:deleted`. No timeline write (C22).
    pub async fn delete(&self, id: &str) -> Result<()> {
        let session = self.get(id).await?;
        for task_id in &session.task_ids {
            match links::remove_session_from_task(&self.ctx, task_id, id, true).await {
                Ok(_) => {
                    self.ctx
                        .emit(DomainEvent::TaskSessionRemoved(Link {
                            task_id: task_id.clone(),
                            session_id: id.to_string(),
                            project_id: session.project_id.clone(),
                        }))
                        .await
                }
                Err(DomainError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if !self.ctx.ports.sessions.delete(id).await? {
            return Err(DomainError::not_found("Session", id));
        }
        self.ctx
            .emit(DomainEvent::SessionDeleted(Deleted {
                id: id.to_string(),
                project_id: Some(session.project_id),
            }))
            .await;
        Ok(())
    }

    /// `POST /api/sessions/:id/events`: appends one event, emits `session:updated`.
    pub async fn add_event(
        &self,
        id: &str,
        kind: Option<&str>,
        data: Option<Value>,
    ) -> Result<Session> {
        let kind = kind
            .filter(|k| !k.is_empty())
            .ok_or_else(|| DomainError::invalid_field("type", "type is required"))?;
        let now = self.ctx.now();
        let event = SessionEvent {
            id: self.ctx.new_id("evt"),
            timestamp: now,
            kind: kind.to_string(),
            data,
        };
        let session = self
            .mutate(id, &|s: &mut Session| {
                push_capped(&mut s.events, event.clone(), MAX_SESSION_EVENTS);
                s.last_activity = now;
                Ok(())
            })
            .await?;
        self.ctx
            .emit(DomainEvent::SessionUpdated(session.clone()))
            .await;
        Ok(session)
    }

    /// `POST /api/sessions/:id/timeline`: appends an entry (a `needs_input` entry also raises
    /// `needsInput`), emits `session:updated` then `notify:progress` or `notify:needs_input`.
    pub async fn add_timeline(&self, id: &str, input: TimelineInput) -> Result<Session> {
        let message = input
            .message
            .filter(|m| !m.is_empty())
            .ok_or_else(|| DomainError::invalid_field("message", "message is required"))?;
        let kind = input.kind.unwrap_or_else(|| "progress".into());
        if kind.is_empty() || kind.len() > MAX_TIMELINE_TYPE {
            return Err(DomainError::invalid_field(
                "type",
                format!("type must be 1-{MAX_TIMELINE_TYPE} characters"),
            ));
        }
        let now = self.ctx.now();
        let entry = TimelineEvent {
            id: self.ctx.new_id("evt"),
            kind: kind.clone(),
            timestamp: now,
            message: Some(message.clone()),
            task_id: input.task_id.clone(),
            metadata: input.metadata,
        };
        let seen = Seen::new();
        let session = self
            .mutate(id, &|s: &mut Session| {
                seen.keep(s);
                push_capped(&mut s.timeline, entry.clone(), MAX_TIMELINE_ENTRIES);
                if kind == "needs_input" {
                    s.needs_input = Some(NeedsInput {
                        active: true,
                        message: Some(message.clone()),
                        since: Some(now),
                    });
                }
                s.last_activity = now;
                Ok(())
            })
            .await?;
        let before = seen.take().unwrap_or_else(|| session.clone());
        if kind == "progress" {
            self.ctx
                .emit(DomainEvent::SessionUpdated(session.clone()))
                .await;
            self.ctx
                .emit(DomainEvent::NotifyProgress(ProgressNotice {
                    session_id: session.id.clone(),
                    task_id: input.task_id,
                    message: Some(message),
                    project_id: session.project_id.clone(),
                }))
                .await;
        } else {
            self.emit_updated(&before, &session).await;
        }
        Ok(session)
    }

    /// `POST /api/sessions/:id/docs`: appends a doc and its `doc_added` entry, emits
    /// `session:updated`, returns the whole session (DEFECTS K4: kept).
    pub async fn add_doc(&self, id: &str, input: DocInput) -> Result<Session> {
        let title = input
            .title
            .filter(|t| !t.is_empty())
            .ok_or_else(|| DomainError::invalid_field("title", "title is required"))?;
        let file_path = input
            .file_path
            .filter(|f| !f.is_empty())
            .ok_or_else(|| DomainError::invalid_field("filePath", "filePath is required"))?;
        if input
            .content
            .as_ref()
            .is_some_and(|c| c.len() > MAX_DOC_CONTENT)
        {
            return Err(DomainError::invalid_field(
                "content",
                format!("content must be at most {MAX_DOC_CONTENT} bytes"),
            ));
        }
        let now = self.ctx.now();
        let doc = DocEntry {
            id: self.ctx.new_id("doc"),
            title: title.clone(),
            file_path: file_path.clone(),
            content: input.content,
            task_id: input.task_id.clone(),
            added_at: now,
            added_by: Some(id.to_string()),
        };
        let entry = TimelineEvent {
            id: self.ctx.new_id("evt"),
            kind: "doc_added".into(),
            timestamp: now,
            message: Some(format!("Doc added: {title}")),
            task_id: input.task_id,
            metadata: Some(json!({"docId": doc.id, "filePath": file_path, "title": title})),
        };
        let session = self
            .mutate(id, &|s: &mut Session| {
                s.docs.push(doc.clone());
                push_capped(&mut s.timeline, entry.clone(), MAX_TIMELINE_ENTRIES);
                s.last_activity = now;
                Ok(())
            })
            .await?;
        self.ctx
            .emit(DomainEvent::SessionUpdated(session.clone()))
            .await;
        Ok(session)
    }

    /// `GET /api/sessions/:id/docs`.
    pub async fn docs(&self, id: &str) -> Result<Vec<DocEntry>> {
        Ok(self.get(id).await?.docs)
    }

    /// `POST /api/sessions/:id/tasks/:taskId`.
    pub async fn link_task(&self, session_id: &str, task_id: &str) -> Result<Session> {
        links::link(&self.ctx, session_id, task_id, "Added task to session").await
    }

    /// `DELETE /api/sessions/:id/tasks/:taskId`.
    pub async fn unlink_task(&self, session_id: &str, task_id: &str) -> Result<Session> {
        links::unlink(&self.ctx, session_id, task_id).await
    }

    async fn mutate(
        &self,
        id: &str,
        change: crate::ports::Mutator<'_, Session>,
    ) -> Result<Session> {
        self.ctx
            .ports
            .sessions
            .update(id, change)
            .await
            .map_err(|e| rename_not_found(e, "Session", id))
    }
}

/// Applies the honoured keys of a session PATCH (API.md #19, DEFECTS C15/C18).
fn apply_patch(s: &mut Session, p: &SessionPatch, now: i64) {
    if let Some(status) = p.status {
        if status.is_terminal() {
            if !s.status.is_terminal() || s.completed_at.is_none() {
                s.completed_at = Some(now);
            }
        } else {
            s.completed_at = None;
        }
        s.status = status;
    }
    if let Some(agent) = &p.agent_id {
        s.agent_id = Some(agent.clone());
    }
    if let Some(env) = &p.env {
        for (k, v) in env {
            s.env.insert(k.clone(), v.clone());
        }
    }
    if let Some(events) = &p.events {
        for e in events {
            push_capped(&mut s.events, e.clone(), MAX_SESSION_EVENTS);
        }
    }
    if let Some(timeline) = &p.timeline {
        for e in timeline {
            push_capped(&mut s.timeline, e.clone(), MAX_TIMELINE_ENTRIES);
        }
    }
    match &p.needs_input {
        Some(n) => s.needs_input = Some(n.clone()),
        None => {
            // A `needs_input` entry appended through PATCH raises the flag like the timeline
            // route does, so the rising-edge rule notifies once (DEFECTS C18).
            if let Some(e) = p
                .timeline
                .as_ref()
                .and_then(|t| t.iter().rev().find(|e| e.kind == "needs_input"))
            {
                s.needs_input = Some(NeedsInput {
                    active: true,
                    message: e.message.clone(),
                    since: Some(e.timestamp),
                });
            }
        }
    }
    if let Some(task_ids) = &p.task_ids {
        // The links were made one by one before (ids already de-duplicated); this only fixes
        // the order.
        s.task_ids = task_ids.clone();
    }
    s.last_activity = now;
}

/// Appends `item`, dropping the oldest entries beyond `cap` (DEFECTS O1); every append to a
/// session's `timeline` or `events` goes through it, link/unlink entries included.
pub(crate) fn push_capped<T>(list: &mut Vec<T>, item: T, cap: usize) {
    list.push(item);
    if list.len() > cap {
        let excess = list.len() - cap;
        list.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::*;

    fn session_cell(m: &mut Mocks, s: Session) -> Cell<Session> {
        let cell = Cell::new(s);
        let (a, b) = (cell.clone(), cell.clone());
        m.sessions
            .expect_get()
            .returning(move |_| Ok(Some(a.get())));
        m.sessions
            .expect_update()
            .returning(move |_, f| b.update(f));
        cell
    }

    fn task_cell(m: &mut Mocks, t: Task) -> Cell<Task> {
        let cell = Cell::new(t);
        let (a, b) = (cell.clone(), cell.clone());
        m.tasks.expect_get().returning(move |_| Ok(Some(a.get())));
        m.tasks.expect_update().returning(move |_, f| b.update(f));
        cell
    }

    fn status(s: SessionStatus) -> SessionPatch {
        SessionPatch {
            status: Some(s),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn create_requires_task_ids_then_project() {
        let m = Mocks::new();
        let s = m.services();
        let err = s
            .sessions
            .create(NewSession {
                project_id: Some("proj_1".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "taskIds is required");
        let err = s
            .sessions
            .create(NewSession {
                task_ids: Some(vec![]),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Project ID is required");
    }

    #[tokio::test]
    async fn create_rejects_unsafe_client_id() {
        let m = Mocks::new();
        let err = m
            .services()
            .sessions
            .create(NewSession {
                id: Some("../../etc".into()),
                project_id: Some("proj_1".into()),
                task_ids: Some(vec![]),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }

    #[tokio::test]
    async fn create_with_existing_id_is_conflict() {
        let mut m = Mocks::new();
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        m.sessions
            .expect_create()
            .returning(|_| Err(DomainError::Conflict("exists".into())));
        let err = m
            .services()
            .sessions
            .create(NewSession {
                id: Some("sess_cli".into()),
                project_id: Some("proj_1".into()),
                task_ids: Some(vec![]),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "CONFLICT");
        assert_eq!(err.to_string(), "Session with id 'sess_cli' already exists");
    }

    #[tokio::test]
    async fn create_links_tasks_with_timeline_and_emits_in_order() {
        let mut m = Mocks::new();
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        let t = task_cell(&mut m, task("task_1", "proj_1"));
        m.sessions.expect_create().returning(Ok);
        let events = m.capture_events();
        let s = m
            .services()
            .sessions
            .create(NewSession {
                project_id: Some("proj_1".into()),
                task_id: Some("task_1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(s.name, "Unnamed Session");
        assert_eq!(s.status, SessionStatus::Idle);
        assert_eq!(s.hostname, "testhost");
        let kinds: Vec<&str> = s.timeline.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["session_started", "task_started"]);
        assert_eq!(s.timeline[0].message.as_deref(), Some("Session created"));
        assert_eq!(t.get().session_ids, std::slice::from_ref(&s.id));
        assert_eq!(events.names(), ["session:created", "task:session_added"]);
    }

    #[tokio::test]
    async fn create_with_task_of_other_project_is_refused() {
        let mut m = Mocks::new();
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        m.tasks
            .expect_get()
            .returning(|id| Ok(Some(task(id, "proj_2"))));
        m.sessions.expect_create().never();
        let err = m
            .services()
            .sessions
            .create(NewSession {
                project_id: Some("proj_1".into()),
                task_ids: Some(vec!["task_1".into()]),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "BUSINESS_RULE_ERROR");
    }

    #[tokio::test]
    async fn active_filter_keeps_only_live_statuses() {
        let mut m = Mocks::new();
        m.sessions
            .expect_list()
            .withf(|f| {
                f.statuses
                    == Some(vec![
                        SessionStatus::Spawning,
                        SessionStatus::Idle,
                        SessionStatus::Working,
                    ])
            })
            .returning(|_| Ok(vec![]));
        m.services()
            .sessions
            .list(&SessionQuery {
                active: true,
                ..Default::default()
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn stopped_never_overwrites_completed_or_failed() {
        for terminal in [SessionStatus::Completed, SessionStatus::Failed] {
            let mut m = Mocks::new();
            let mut s = session("sess_1", "proj_1", &[]);
            s.status = terminal;
            let cell = session_cell(&mut m, s);
            let events = m.capture_events();
            let out = m
                .services()
                .sessions
                .update("sess_1", status(SessionStatus::Stopped))
                .await
                .unwrap();
            assert_eq!(out.status, terminal);
            assert_eq!(cell.get().status, terminal);
            assert!(events.names().is_empty());
        }
    }

    #[tokio::test]
    async fn completed_at_stamped_on_first_terminal_entry_and_cleared_on_resume() {
        let mut m = Mocks::new();
        let cell = session_cell(&mut m, session("sess_1", "proj_1", &[]));
        m.capture_events();
        let s = m.services();
        let out = s
            .sessions
            .update("sess_1", status(SessionStatus::Completed))
            .await
            .unwrap();
        assert_eq!(out.completed_at, Some(NOW));
        s.context().ports.clock.now_ms();
        let out = s
            .sessions
            .update("sess_1", status(SessionStatus::Working))
            .await
            .unwrap();
        assert_eq!(out.completed_at, None);
        assert_eq!(cell.get().completed_at, None);
    }

    #[tokio::test]
    async fn terminal_status_propagates_to_working_task_entries_with_events_in_order() {
        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
        let mut t = task("task_1", "proj_1");
        t.task_session_statuses
            .insert("sess_1".into(), TaskSessionStatus::Working);
        let tc = task_cell(&mut m, t);
        let events = m.capture_events();
        m.services()
            .sessions
            .update("sess_1", status(SessionStatus::Failed))
            .await
            .unwrap();
        assert_eq!(
            tc.get().task_session_statuses["sess_1"],
            TaskSessionStatus::Failed
        );
        assert_eq!(
            events.names(),
            ["task:updated", "session:updated", "notify:session_failed"]
        );
    }

    #[tokio::test]
    async fn stopped_maps_to_failed_and_completed_entries_are_left_alone() {
        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
        let mut t = task("task_1", "proj_1");
        t.task_session_statuses
            .insert("sess_1".into(), TaskSessionStatus::Blocked);
        let tc = task_cell(&mut m, t);
        m.capture_events();
        m.services()
            .sessions
            .update("sess_1", status(SessionStatus::Stopped))
            .await
            .unwrap();
        assert_eq!(
            tc.get().task_session_statuses["sess_1"],
            TaskSessionStatus::Failed
        );

        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
        let mut t = task("task_1", "proj_1");
        t.task_session_statuses
            .insert("sess_1".into(), TaskSessionStatus::Skipped);
        let tc = task_cell(&mut m, t);
        let events = m.capture_events();
        m.services()
            .sessions
            .update("sess_1", status(SessionStatus::Completed))
            .await
            .unwrap();
        assert_eq!(
            tc.get().task_session_statuses["sess_1"],
            TaskSessionStatus::Skipped
        );
        assert_eq!(
            events.names(),
            ["session:updated", "notify:session_completed"]
        );
    }

    #[tokio::test]
    async fn patch_merges_env_appends_lists_and_replaces_needs_input() {
        let mut m = Mocks::new();
        let mut s = session("sess_1", "proj_1", &[]);
        s.env.insert("A".into(), "1".into());
        session_cell(&mut m, s);
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .update(
                "sess_1",
                SessionPatch {
                    env: Some(BTreeMap::from([("B".to_string(), "2".to_string())])),
                    events: Some(vec![SessionEvent {
                        id: "e1".into(),
                        timestamp: 1,
                        kind: "x".into(),
                        data: None,
                    }]),
                    needs_input: Some(NeedsInput {
                        active: true,
                        message: Some("help?".into()),
                        since: Some(2),
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(out.env.len(), 2);
        assert_eq!(out.events.len(), 1);
        assert_eq!(out.last_activity, NOW);
        assert_eq!(events.names(), ["session:updated", "notify:needs_input"]);
        assert_eq!(events.data(1)["message"], "help?");
    }

    #[tokio::test]
    async fn needs_input_notifies_only_on_rising_edge() {
        let mut m = Mocks::new();
        let mut s = session("sess_1", "proj_1", &[]);
        s.needs_input = Some(NeedsInput {
            active: true,
            message: None,
            since: None,
        });
        session_cell(&mut m, s);
        let events = m.capture_events();
        let svc = m.services();
        svc.sessions
            .add_timeline(
                "sess_1",
                TimelineInput {
                    message: Some("again".into()),
                    kind: Some("needs_input".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(events.names(), ["session:updated"]);
    }

    #[tokio::test]
    async fn needs_input_timeline_entry_via_patch_raises_flag_and_notifies() {
        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .update(
                "sess_1",
                SessionPatch {
                    timeline: Some(vec![TimelineEvent {
                        id: "evt-1".into(),
                        kind: "needs_input".into(),
                        timestamp: 7,
                        message: Some("ok?".into()),
                        task_id: None,
                        metadata: None,
                    }]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(out.needs_input.unwrap().active);
        assert_eq!(events.names(), ["session:updated", "notify:needs_input"]);
    }

    #[tokio::test]
    async fn progress_timeline_emits_updated_then_progress() {
        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .add_timeline(
                "sess_1",
                TimelineInput {
                    message: Some("50%".into()),
                    task_id: Some("task_1".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(out.timeline.last().unwrap().kind, "progress");
        assert_eq!(events.names(), ["session:updated", "notify:progress"]);
        assert_eq!(events.data(1)["taskId"], "task_1");
    }

    #[tokio::test]
    async fn unknown_timeline_types_are_stored_verbatim_and_over_long_refused() {
        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &[]));
        m.capture_events();
        let svc = m.services();
        let out = svc
            .sessions
            .add_timeline(
                "sess_1",
                TimelineInput {
                    message: Some("m".into()),
                    kind: Some("task_status_changed".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(out.timeline.last().unwrap().kind, "task_status_changed");
        let err = svc
            .sessions
            .add_timeline(
                "sess_1",
                TimelineInput {
                    message: Some("m".into()),
                    kind: Some("x".repeat(101)),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }

    #[tokio::test]
    async fn add_doc_appends_doc_and_timeline_entry() {
        let mut m = Mocks::new();
        session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .add_doc(
                "sess_1",
                DocInput {
                    title: Some("Plan".into()),
                    file_path: Some("/p.md".into()),
                    task_id: Some("task_1".into()),
                    content: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(out.docs[0].added_by.as_deref(), Some("sess_1"));
        let entry = out.timeline.last().unwrap();
        assert_eq!(entry.message.as_deref(), Some("Doc added: Plan"));
        assert_eq!(entry.metadata.as_ref().unwrap()["docId"], out.docs[0].id);
        assert_eq!(events.names(), ["session:updated"]);
    }

    #[tokio::test]
    async fn add_doc_requires_title_and_file_path_and_caps_content() {
        let m = Mocks::new();
        let svc = m.services();
        let err = svc
            .sessions
            .add_doc("sess_1", DocInput::default())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "title is required");
        let err = svc
            .sessions
            .add_doc(
                "sess_1",
                DocInput {
                    title: Some("t".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "filePath is required");
        let err = svc
            .sessions
            .add_doc(
                "sess_1",
                DocInput {
                    title: Some("t".into()),
                    file_path: Some("f".into()),
                    content: Some("x".repeat(MAX_DOC_CONTENT + 1)),
                    task_id: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "VALIDATION_ERROR");
    }

    #[tokio::test]
    async fn add_event_requires_type_and_caps_growth() {
        let mut m = Mocks::new();
        let mut s = session("sess_1", "proj_1", &[]);
        s.events = (0..MAX_SESSION_EVENTS)
            .map(|i| SessionEvent {
                id: format!("e{i}"),
                timestamp: 0,
                kind: "k".into(),
                data: None,
            })
            .collect();
        session_cell(&mut m, s);
        m.capture_events();
        let svc = m.services();
        let err = svc
            .sessions
            .add_event("sess_1", None, None)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "type is required");
        let out = svc
            .sessions
            .add_event("sess_1", Some("file_modified"), Some(json!({"file": "a"})))
            .await
            .unwrap();
        assert_eq!(out.events.len(), MAX_SESSION_EVENTS);
        assert_eq!(out.events[0].id, "e1");
        assert_eq!(out.events.last().unwrap().kind, "file_modified");
    }

    #[tokio::test]
    async fn disconnected_agent_fails_its_session_once() {
        let mut m = Mocks::new();
        let cell = session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let events = m.capture_events();
        let svc = m.services();
        let failed = svc
            .sessions
            .mark_disconnected("sess_1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(failed.status, SessionStatus::Failed);
        assert_eq!(
            failed.timeline.last().unwrap().metadata.as_ref().unwrap()["reason"],
            "agent_disconnected"
        );
        assert!(
            svc.sessions
                .mark_disconnected("sess_1")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(cell.get().status, SessionStatus::Failed);
        assert_eq!(events.names(), ["session:updated", "notify:session_failed"]);
    }

    #[tokio::test]
    async fn disconnect_of_finished_session_changes_nothing() {
        let mut m = Mocks::new();
        let mut s = session("sess_1", "proj_1", &[]);
        s.status = SessionStatus::Completed;
        session_cell(&mut m, s);
        let events = m.capture_events();
        assert!(
            m.services()
                .sessions
                .mark_disconnected("sess_1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(events.names().is_empty());
    }

    #[tokio::test]
    async fn delete_unlinks_tasks_and_emits_removed_then_deleted() {
        let mut m = Mocks::new();
        m.sessions
            .expect_get()
            .returning(|id| Ok(Some(session(id, "proj_1", &["task_1"]))));
        let mut t = task("task_1", "proj_1");
        t.session_ids = vec!["sess_1".into()];
        t.task_session_statuses
            .insert("sess_1".into(), TaskSessionStatus::Working);
        let tc = task_cell(&mut m, t);
        m.sessions.expect_delete().times(1).returning(|_| Ok(true));
        m.sessions.expect_update().never();
        let events = m.capture_events();
        m.services().sessions.delete("sess_1").await.unwrap();
        assert!(tc.get().session_ids.is_empty());
        assert!(tc.get().task_session_statuses.is_empty());
        assert_eq!(events.names(), ["task:session_removed", "session:deleted"]);
        assert_eq!(events.data(1)["projectId"], "proj_1");
    }

    #[tokio::test]
    async fn link_adds_both_sides_once_and_always_logs() {
        let mut m = Mocks::new();
        let sc = session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let tc = task_cell(&mut m, task("task_1", "proj_1"));
        let events = m.capture_events();
        let svc = m.services();
        svc.sessions.link_task("sess_1", "task_1").await.unwrap();
        svc.sessions.link_task("sess_1", "task_1").await.unwrap();
        assert_eq!(sc.get().task_ids, ["task_1"]);
        assert_eq!(tc.get().session_ids, ["sess_1"]);
        assert_eq!(sc.get().timeline.len(), 2);
        assert_eq!(
            events.names()[..2],
            ["session:task_added", "task:session_added"]
        );
    }

    #[tokio::test]
    async fn unlink_removes_both_sides_and_emits_in_order() {
        let mut m = Mocks::new();
        let sc = session_cell(&mut m, session("sess_1", "proj_1", &["task_1"]));
        let mut t = task("task_1", "proj_1");
        t.session_ids = vec!["sess_1".into()];
        let tc = task_cell(&mut m, t);
        let events = m.capture_events();
        let out = m
            .services()
            .sessions
            .unlink_task("sess_1", "task_1")
            .await
            .unwrap();
        assert!(out.task_ids.is_empty());
        assert!(tc.get().session_ids.is_empty());
        let last = sc.get().timeline.last().cloned().unwrap();
        assert_eq!(last.kind, "task_completed");
        assert_eq!(last.message.as_deref(), Some("Removed task from session"));
        assert_eq!(
            events.names(),
            ["session:task_removed", "task:session_removed"]
        );
    }

    #[tokio::test]
    async fn patch_task_ids_keeps_both_sides_in_sync() {
        let mut m = Mocks::new();
        let sc = session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let tc = task_cell(&mut m, task("task_1", "proj_1"));
        let events = m.capture_events();
        m.services()
            .sessions
            .update(
                "sess_1",
                SessionPatch {
                    task_ids: Some(vec!["task_1".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(sc.get().task_ids, ["task_1"]);
        assert_eq!(tc.get().session_ids, ["sess_1"]);
        assert_eq!(
            events.names(),
            [
                "session:task_added",
                "task:session_added",
                "session:updated"
            ]
        );
    }

    #[tokio::test]
    async fn repeated_task_ids_link_once() {
        let mut m = Mocks::new();
        let sc = session_cell(&mut m, session("sess_1", "proj_1", &[]));
        let tc = task_cell(&mut m, task("task_1", "proj_1"));
        let events = m.capture_events();
        m.services()
            .sessions
            .update(
                "sess_1",
                SessionPatch {
                    task_ids: Some(vec!["task_1".into(), "task_1".into(), "task_1".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(sc.get().task_ids, ["task_1"]);
        assert_eq!(tc.get().session_ids, ["sess_1"]);
        assert_eq!(
            events.names(),
            [
                "session:task_added",
                "task:session_added",
                "session:updated"
            ]
        );
        let started = sc
            .get()
            .timeline
            .iter()
            .filter(|e| e.kind == "task_started")
            .count();
        assert_eq!(started, 1, "one link, one timeline entry");
    }

    #[tokio::test]
    async fn link_entries_respect_the_timeline_cap() {
        let mut m = Mocks::new();
        let mut full = session("sess_1", "proj_1", &[]);
        full.timeline = (0..MAX_TIMELINE_ENTRIES)
            .map(|i| TimelineEvent {
                id: format!("evt_{i}"),
                kind: "progress".into(),
                timestamp: i as i64,
                message: None,
                task_id: None,
                metadata: None,
            })
            .collect();
        let sc = session_cell(&mut m, full);
        task_cell(&mut m, task("task_1", "proj_1"));
        m.capture_events();
        let svc = m.services();
        for ids in [vec!["task_1".to_string()], vec![]] {
            svc.sessions
                .update(
                    "sess_1",
                    SessionPatch {
                        task_ids: Some(ids),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let timeline = sc.get().timeline;
            assert_eq!(timeline.len(), MAX_TIMELINE_ENTRIES);
            assert_eq!(
                timeline[0].id,
                if sc.get().task_ids.is_empty() {
                    "evt_2"
                } else {
                    "evt_1"
                }
            );
        }
    }
}
