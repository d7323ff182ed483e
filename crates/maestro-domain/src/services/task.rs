//! Tasks (API.md §5).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::rename_not_found;
use crate::error::{DomainError, Result};
use crate::events::{Deleted, DomainEvent, Link, TaskNotice, TaskSessionNotice};
use crate::model::{
    DocEntry, JsonObject, Open, Task, TaskPriority, TaskSessionStatus, TaskStatus, UpdateSource,
};
use crate::ports::{SessionFilter, TaskFilter};
use crate::services::links;
use crate::services::session::TimelineInput;
use crate::services::{Context, Seen, SessionService, non_blank};

/// Body of `POST /api/tasks`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTask {
    pub project_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Open<TaskPriority>>,
    pub parent_id: Option<String>,
    pub initial_prompt: Option<String>,
    pub skill_ids: Option<Vec<String>>,
    pub reference_task_ids: Option<Vec<String>>,
    pub team_member_id: Option<String>,
    pub team_member_ids: Option<Vec<String>>,
}

/// Body of `PATCH /api/tasks/:id` (API.md #11); the mode is chosen by `update_source`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskPatch {
    pub update_source: Option<UpdateSource>,
    pub session_id: Option<String>,
    pub session_status: Option<TaskSessionStatus>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Open<TaskPriority>>,
    pub status: Option<TaskStatus>,
    pub session_ids: Option<Vec<String>>,
    pub skill_ids: Option<Vec<String>>,
    pub agent_ids: Option<Vec<String>>,
    pub reference_task_ids: Option<Vec<String>>,
    pub pinned: Option<bool>,
    pub team_member_id: Option<String>,
    pub team_member_ids: Option<Vec<String>>,
    pub task_session_statuses: Option<BTreeMap<String, TaskSessionStatus>>,
    /// The fencing token of the writer's claim (`fencingToken` / `If-Match`): the write is
    /// refused unless it is the task's current claim's.
    pub fencing_token: Option<u64>,
}

/// One item of `GET /api/tasks/:id/docs`: a session doc plus where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TaskDoc {
    #[serde(flatten)]
    pub doc: DocEntry,
    pub session_id: String,
    pub session_name: String,
}

#[derive(Clone)]
pub struct TaskService {
    ctx: Arc<Context>,
    /// Task timeline entries are written to the reporting session (wired by `Services`).
    sessions: SessionService,
}

impl TaskService {
    pub(crate) fn new(ctx: Arc<Context>, sessions: SessionService) -> Self {
        Self { ctx, sessions }
    }

    pub async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.ctx.ports.tasks.list(filter).await
    }

    pub async fn get(&self, id: &str) -> Result<Task> {
        self.ctx
            .ports
            .tasks
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Task", id))
    }

    /// Creates a task (checks in the original's order) and emits `task:created`.
    pub async fn create(&self, input: NewTask) -> Result<Task> {
        let project_id = non_blank(input.project_id.as_deref())
            .ok_or_else(|| DomainError::invalid_field("projectId", "Project ID is required"))?;
        let title = non_blank(input.title.as_deref())
            .ok_or_else(|| DomainError::invalid_field("title", "Task title is required"))?;
        check_priority(input.priority.as_ref())?;
        let ports = &self.ctx.ports;
        if ports.projects.get(&project_id).await?.is_none() {
            return Err(DomainError::not_found("Project", &project_id));
        }
        if let Some(parent_id) = &input.parent_id {
            let parent = ports
                .tasks
                .get(parent_id)
                .await?
                .ok_or_else(|| DomainError::not_found("Parent task", parent_id))?;
            if parent.project_id != project_id {
                return Err(DomainError::BusinessRule(format!(
                    "Parent task '{parent_id}' belongs to another project"
                )));
            }
        }
        let now = self.ctx.now();
        let task = Task {
            id: self.ctx.new_id("task"),
            project_id,
            parent_id: input.parent_id,
            title,
            description: input.description.unwrap_or_default(),
            status: TaskStatus::Todo.into(),
            task_session_statuses: BTreeMap::new(),
            priority: input.priority.unwrap_or(Open::Known(TaskPriority::Medium)),
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            initial_prompt: input.initial_prompt.unwrap_or_default(),
            session_ids: Vec::new(),
            skill_ids: input.skill_ids.unwrap_or_default(),
            agent_ids: Vec::new(),
            dependencies: Vec::new(),
            reference_task_ids: input.reference_task_ids.unwrap_or_default(),
            pinned: None,
            team_member_id: input.team_member_id,
            team_member_ids: input.team_member_ids,
            claimed_by: None,
            claim_expires_at: None,
            claim_fencing_token: None,
            extra: JsonObject::new(),
        };
        let task = ports.tasks.create(task).await?;
        self.ctx.emit(DomainEvent::TaskCreated(task.clone())).await;
        Ok(task)
    }

    /// `PATCH /api/tasks/:id`: session mode (one `taskSessionStatuses` entry, auto-linking the
    /// session) or user mode (the whitelisted fields), with the events of EVENTS.md §5.
    ///
    /// Everything that can refuse the patch is checked before anything is written: a refused
    /// PATCH changes nothing (the title and priority first, then the fencing token before an
    /// auto-link). A plain or fenced PATCH is one atomic update of the task (the fence and
    /// the caller's rights are checked inside it), so on a remote store it costs one read
    /// and one write.
    pub async fn update(&self, id: &str, patch: TaskPatch) -> Result<Task> {
        check_priority(patch.priority.as_ref())?;
        // b. Title check (before the auto-link below, so a refused PATCH links nothing).
        if patch.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(DomainError::invalid_field(
                "title",
                "Task title cannot be empty",
            ));
        }
        let session_mode = patch.update_source == Some(UpdateSource::Session);
        // a. Auto-link a reporting session that is not yet linked.
        if session_mode && let Some(session_id) = &patch.session_id {
            let session = self
                .ctx
                .ports
                .sessions
                .get(session_id)
                .await?
                .ok_or_else(|| DomainError::not_found("Session", session_id))?;
            if !session.task_ids.iter().any(|t| t == id) {
                if patch.fencing_token.is_some() {
                    // Before the link's side effects; checked again atomically in the write.
                    check_fence(&self.get(id).await?, patch.fencing_token)?;
                }
                links::link(&self.ctx, session_id, id, "Added task to session").await?;
            }
        }
        if session_mode {
            self.update_from_session(id, &patch).await
        } else {
            self.update_from_user(id, patch).await
        }
    }

    /// c. Session mode: only `taskSessionStatuses[sessionId] = sessionStatus`; a no-op (no
    /// write, no event) when either is missing or nothing changes (DEFECTS C21).
    async fn update_from_session(&self, id: &str, patch: &TaskPatch) -> Result<Task> {
        let (Some(session_id), Some(status)) = (&patch.session_id, patch.session_status) else {
            return self.get(id).await;
        };
        let now = self.ctx.now();
        let seen = Seen::new();
        let task = self
            .ctx
            .ports
            .tasks
            .update(id, &|t: &mut Task| {
                check_fence(t, patch.fencing_token)?;
                seen.keep(t);
                if t.task_session_statuses.get(session_id.as_str()) != Some(&status) {
                    t.task_session_statuses.insert(session_id.clone(), status);
                    t.updated_at = now;
                }
                Ok(())
            })
            .await
            .map_err(|e| rename_not_found(e, "Task", id))?;
        let before = seen.take().unwrap_or_else(|| task.clone());
        if before != task {
            self.ctx.emit(DomainEvent::TaskUpdated(task.clone())).await;
            self.notify_session_statuses(&before, &task).await;
        }
        Ok(task)
    }

    /// d. User mode: the whitelisted fields; `sessionIds` changes are applied on both sides
    /// (links and unlinks with their events) so the task↔session invariant holds.
    async fn update_from_user(&self, id: &str, patch: TaskPatch) -> Result<Task> {
        if let Some(wanted) = &patch.session_ids {
            let current = self.get(id).await?;
            // Before the links' side effects; checked again atomically in the write.
            check_fence(&current, patch.fencing_token)?;
            for gone in current.session_ids.iter().filter(|s| !wanted.contains(s)) {
                match links::unlink(&self.ctx, gone, id).await {
                    Ok(_) => {}
                    // A dangling id (session already deleted): just drop it from the task.
                    Err(DomainError::NotFound { .. }) => {
                        links::remove_session_from_task(&self.ctx, id, gone, false).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            for new in wanted.iter().filter(|s| !current.session_ids.contains(s)) {
                links::link(&self.ctx, new, id, "Added task to session").await?;
            }
        }
        let now = self.ctx.now();
        let seen = Seen::new();
        let task = self
            .ctx
            .ports
            .tasks
            .update(id, &|t: &mut Task| {
                check_fence(t, patch.fencing_token)?;
                seen.keep(t);
                apply_user_patch(t, &patch, now);
                Ok(())
            })
            .await
            .map_err(|e| rename_not_found(e, "Task", id))?;
        let before = seen.take().unwrap_or_else(|| task.clone());
        self.ctx.emit(DomainEvent::TaskUpdated(task.clone())).await;
        if before.status != task.status {
            let notice = TaskNotice {
                task_id: task.id.clone(),
                title: task.title.clone(),
                project_id: task.project_id.clone(),
            };
            let event = match task.status.known() {
                Some(TaskStatus::Completed) => Some(DomainEvent::NotifyTaskCompleted(notice)),
                Some(TaskStatus::Cancelled) => Some(DomainEvent::NotifyTaskFailed(notice)),
                Some(TaskStatus::InReview) => Some(DomainEvent::NotifyTaskInReview(notice)),
                Some(TaskStatus::Blocked) => Some(DomainEvent::NotifyTaskBlocked(notice)),
                _ => None,
            };
            if let Some(event) = event {
                self.ctx.emit(event).await;
            }
        }
        self.notify_session_statuses(&before, &task).await;
        Ok(task)
    }

    /// `notify:task_session_completed|failed` for every session entry that changed to it.
    pub(crate) async fn notify_session_statuses(&self, before: &Task, after: &Task) {
        notify_session_statuses(&self.ctx, before, after).await;
    }

    /// Deletes a task and all its descendants (deepest first), unlinking them from their
    /// sessions (DEFECTS C10); one `task:deleted` per task.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let root = self.get(id).await?;
        let mut order = vec![root];
        let mut i = 0;
        while i < order.len() {
            let children = self
                .ctx
                .ports
                .tasks
                .list(&TaskFilter {
                    parent_id: Some(Some(order[i].id.clone())),
                    ..TaskFilter::default()
                })
                .await?;
            order.extend(children);
            i += 1;
        }
        // Breadth-first order reversed = every child before its parent.
        for task in order.iter().rev() {
            self.delete_one(task).await?;
        }
        Ok(())
    }

    async fn delete_one(&self, task: &crate::model::Task) -> Result<()> {
        let ports = &self.ctx.ports;
        for session_id in &task.session_ids {
            let now = self.ctx.now();
            let result = ports
                .sessions
                .update(session_id, &|s: &mut crate::model::Session| {
                    if s.task_ids.contains(&task.id) {
                        s.task_ids.retain(|t| *t != task.id);
                        s.last_activity = now;
                    }
                    Ok(())
                })
                .await;
            match result {
                Ok(session) => {
                    let link = Link {
                        task_id: task.id.clone(),
                        session_id: session.id.clone(),
                        project_id: session.project_id.clone(),
                    };
                    self.ctx
                        .emit(DomainEvent::SessionTaskRemoved(link.clone()))
                        .await;
                    self.ctx.emit(DomainEvent::TaskSessionRemoved(link)).await;
                }
                Err(DomainError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if ports.tasks.delete(&task.id).await? {
            self.ctx
                .emit(DomainEvent::TaskDeleted(Deleted {
                    id: task.id.clone(),
                    project_id: Some(task.project_id.clone()),
                }))
                .await;
        }
        Ok(())
    }

    /// `POST /api/tasks/:id/timeline`: a session timeline entry about this task.
    pub async fn add_timeline(
        &self,
        task_id: &str,
        session_id: Option<&str>,
        message: Option<&str>,
        kind: Option<&str>,
    ) -> Result<crate::model::Session> {
        let message = message
            .filter(|m| !m.is_empty())
            .ok_or_else(|| DomainError::invalid_field("message", "message is required"))?;
        let session_id = session_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| DomainError::invalid_field("sessionId", "sessionId is required"))?;
        self.get(task_id).await?;
        self.sessions
            .add_timeline(
                session_id,
                TimelineInput {
                    message: Some(message.to_string()),
                    kind: kind.map(str::to_string),
                    task_id: Some(task_id.to_string()),
                    metadata: None,
                },
            )
            .await
    }

    /// `GET /api/tasks/:id/docs`: docs of every linked session that are about this task or
    /// about no task, oldest first.
    pub async fn docs(&self, task_id: &str) -> Result<Vec<TaskDoc>> {
        self.get(task_id).await?;
        let sessions = self
            .ctx
            .ports
            .sessions
            .list(&SessionFilter {
                task_id: Some(task_id.to_string()),
                ..SessionFilter::default()
            })
            .await?;
        let mut docs: Vec<TaskDoc> = sessions
            .into_iter()
            .flat_map(|s| {
                let (sid, name) = (s.id, s.name);
                s.docs
                    .into_iter()
                    .filter(|d| d.task_id.as_deref().is_none_or(|t| t == task_id))
                    .map(move |doc| TaskDoc {
                        doc,
                        session_id: sid.clone(),
                        session_name: name.clone(),
                    })
            })
            .collect();
        docs.sort_by_key(|d| d.doc.added_at);
        Ok(docs)
    }

    /// `GET /api/tasks/:id/children`: direct children.
    pub async fn children(&self, id: &str) -> Result<Vec<Task>> {
        self.get(id).await?;
        self.list(&TaskFilter {
            parent_id: Some(Some(id.to_string())),
            ..TaskFilter::default()
        })
        .await
    }
}

/// Longest priority literal stored (priority is open on the wire).
pub const MAX_PRIORITY_CHARS: usize = 64;

/// A priority must be a known value or a non-empty string of at most
/// [`MAX_PRIORITY_CHARS`] characters.
fn check_priority(p: Option<&Open<TaskPriority>>) -> Result<()> {
    if let Some(Open::Other(s)) = p
        && (s.trim().is_empty() || s.chars().count() > MAX_PRIORITY_CHARS)
    {
        return Err(DomainError::invalid_field(
            "priority",
            format!(
                "priority must be low, medium, high or another non-empty label of at most {MAX_PRIORITY_CHARS} characters"
            ),
        ));
    }
    Ok(())
}

/// Applies the user-mode fields of a PATCH, with the timestamp rules of MODEL.md §Task (as
/// the original): `startedAt` set once on the first `in_progress`; `completedAt` set once on
/// the first `completed` and never cleared or moved (a reopened task keeps it); `updatedAt`
/// always.
fn apply_user_patch(t: &mut Task, p: &TaskPatch, now: i64) {
    if let Some(v) = &p.title {
        t.title = v.clone();
    }
    if let Some(v) = &p.description {
        t.description = v.clone();
    }
    if let Some(v) = &p.priority {
        t.priority = v.clone();
    }
    if let Some(status) = p.status {
        if status == TaskStatus::InProgress && t.started_at.is_none() {
            t.started_at = Some(now);
        }
        if status == TaskStatus::Completed && t.completed_at.is_none() {
            t.completed_at = Some(now);
        }
        t.status = status.into();
    }
    if let Some(v) = &p.skill_ids {
        t.skill_ids = v.clone();
    }
    if let Some(v) = &p.agent_ids {
        t.agent_ids = v.clone();
    }
    if let Some(v) = &p.reference_task_ids {
        t.reference_task_ids = v.clone();
    }
    if let Some(v) = p.pinned {
        t.pinned = Some(v);
    }
    if let Some(v) = &p.team_member_id {
        t.team_member_id = Some(v.clone());
    }
    if let Some(v) = &p.team_member_ids {
        t.team_member_ids = Some(v.clone());
    }
    if let Some(map) = &p.task_session_statuses {
        for (k, v) in map {
            t.task_session_statuses.insert(k.clone(), *v);
        }
    }
    t.updated_at = now;
}

/// `notify:task_session_completed|failed` for every entry of `taskSessionStatuses` that
/// changed to `completed` or `failed` between `before` and `after`.
pub(crate) async fn notify_session_statuses(ctx: &Context, before: &Task, after: &Task) {
    for (session_id, status) in &after.task_session_statuses {
        if before.task_session_statuses.get(session_id) == Some(status) {
            continue;
        }
        let notice = TaskSessionNotice {
            task_id: after.id.clone(),
            session_id: session_id.clone(),
            title: after.title.clone(),
            project_id: after.project_id.clone(),
        };
        match status {
            TaskSessionStatus::Completed => {
                ctx.emit(DomainEvent::NotifyTaskSessionCompleted(notice))
                    .await
            }
            TaskSessionStatus::Failed => {
                ctx.emit(DomainEvent::NotifyTaskSessionFailed(notice)).await
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

/// A write carrying a fencing token must carry the task's current claim's (a holder that
/// lost its claim, or never had it, cannot write as if it held it).
fn check_fence(t: &Task, given: Option<u64>) -> Result<()> {
    match given {
        Some(g) if t.claim_fencing_token != Some(g) => Err(DomainError::StaleFence {
            task_id: t.id.clone(),
            given: g,
            current: t
                .claim_fencing_token
                .map_or_else(|| "none".to_string(), |c| c.to_string()),
        }),
        _ => Ok(()),
    }
}
