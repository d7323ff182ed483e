//! Sessions (API.md §6, without spawn).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::rename_not_found;
use crate::error::{DomainError, Result};
use crate::events::{Deleted, DomainEvent, Link, NeedsInputNotice, SessionNotice};
use crate::model::{
    JsonObject, NeedsInput, Session, SessionEvent, SessionStatus, Task, TaskSessionStatus,
    TimelineEvent,
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
        self.ctx.require_project(&project_id).await?;
        let unique = self.tasks_of_project(&project_id, task_ids).await?;
        let now = self.ctx.now();
        let id = match input.id {
            Some(id) => id,
            None => self.ctx.new_id("sess"),
        };
        let timeline = self.opening_timeline(now, &unique, message);
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
            hostname: self.ctx.host().hostname.clone(),
            platform: self.ctx.host().platform.clone(),
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

    /// `task_ids` without repeats, each checked to exist in `project_id`.
    async fn tasks_of_project(
        &self,
        project_id: &str,
        task_ids: Vec<String>,
    ) -> Result<Vec<String>> {
        let mut unique: Vec<String> = Vec::with_capacity(task_ids.len());
        for task_id in task_ids {
            let task = self
                .ctx
                .ports
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
        Ok(unique)
    }

    /// A new session's first timeline: `session_started`, then one `task_started` per task.
    fn opening_timeline(&self, now: i64, task_ids: &[String], message: &str) -> Vec<TimelineEvent> {
        let mut timeline = vec![TimelineEvent {
            id: self.ctx.new_id("evt"),
            kind: "session_started".into(),
            timestamp: now,
            message: Some("Session created".into()),
            task_id: None,
            metadata: None,
        }];
        for task_id in task_ids {
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
        timeline
    }

    /// `PATCH /api/sessions/:id` with the stop guard, terminal stamp, propagation into the
    /// linked tasks and the events of EVENTS.md §5.
    pub async fn update(&self, id: &str, mut patch: SessionPatch) -> Result<Session> {
        if let Some(asked) = &patch.needs_input {
            validate_options(asked)?;
        }
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
                    no_longer_waiting(s);
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
                    options: None,
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
    if s.status.is_terminal() {
        no_longer_waiting(s);
    }
    s.last_activity = now;
}

/// The answer options of a question: at most [`NeedsInput::MAX_OPTIONS`], none empty or longer
/// than [`NeedsInput::MAX_OPTION_CHARS`].
fn validate_options(asked: &NeedsInput) -> Result<()> {
    let Some(options) = &asked.options else {
        return Ok(());
    };
    if options.len() > NeedsInput::MAX_OPTIONS {
        return Err(DomainError::invalid_field(
            "needsInput.options",
            format!("at most {} answer options", NeedsInput::MAX_OPTIONS),
        ));
    }
    if options
        .iter()
        .any(|o| o.trim().is_empty() || o.chars().count() > NeedsInput::MAX_OPTION_CHARS)
    {
        return Err(DomainError::invalid_field(
            "needsInput.options",
            format!(
                "each answer option is 1 to {} characters",
                NeedsInput::MAX_OPTION_CHARS
            ),
        ));
    }
    Ok(())
}

/// The domain rule of an ended session (completed, failed or stopped): it is no longer waiting
/// for input, whatever its last question was (`needsInput.active` false, the question kept).
/// A person's answer would reach no agent.
fn no_longer_waiting(s: &mut Session) {
    if let Some(n) = s.needs_input.as_mut() {
        n.active = false;
    }
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

mod journal;
#[cfg(test)]
mod tests;
