//! The two-sided task ↔ session link (MODEL.md §11, first invariant), shared by the session
//! routes, task PATCH auto-link and session create/PATCH.

use crate::error::rename_not_found;
use crate::error::{DomainError, Result};
use crate::events::{DomainEvent, Link};
use crate::model::{Session, Task, TimelineEvent};
use crate::services::Context;
use crate::services::session::{MAX_TIMELINE_ENTRIES, push_capped};

/// Loads both ends and refuses a link across projects (DEFECTS C21).
pub(crate) async fn load_pair(
    ctx: &Context,
    session_id: &str,
    task_id: &str,
) -> Result<(Session, Task)> {
    let session = ctx
        .ports
        .sessions
        .get(session_id)
        .await?
        .ok_or_else(|| DomainError::not_found("Session", session_id))?;
    let task = ctx
        .ports
        .tasks
        .get(task_id)
        .await?
        .ok_or_else(|| DomainError::not_found("Task", task_id))?;
    if session.project_id != task.project_id {
        return Err(DomainError::BusinessRule(format!(
            "Task '{task_id}' belongs to project '{}', session '{session_id}' to project '{}'",
            task.project_id, session.project_id
        )));
    }
    Ok((session, task))
}

/// Adds `session_id` to the task's `sessionIds` (no duplicates).
pub(crate) async fn add_session_to_task(
    ctx: &Context,
    task_id: &str,
    session_id: &str,
) -> Result<Task> {
    let now = ctx.now();
    ctx.ports
        .tasks
        .update(task_id, &|t: &mut Task| {
            if !t.session_ids.iter().any(|s| s == session_id) {
                t.session_ids.push(session_id.to_string());
                t.updated_at = now;
            }
            Ok(())
        })
        .await
        .map_err(|e| rename_not_found(e, "Task", task_id))
}

/// Removes `session_id` from the task's `sessionIds` (and, when `forget_status`, its entry in
/// `taskSessionStatuses`).
pub(crate) async fn remove_session_from_task(
    ctx: &Context,
    task_id: &str,
    session_id: &str,
    forget_status: bool,
) -> Result<Task> {
    let now = ctx.now();
    ctx.ports
        .tasks
        .update(task_id, &|t: &mut Task| {
            let before = t.session_ids.len();
            t.session_ids.retain(|s| s != session_id);
            let removed_status =
                forget_status && t.task_session_statuses.remove(session_id).is_some();
            if t.session_ids.len() != before || removed_status {
                t.updated_at = now;
            }
            Ok(())
        })
        .await
        .map_err(|e| rename_not_found(e, "Task", task_id))
}

fn link_event(session: &Session, task_id: &str) -> Link {
    Link {
        task_id: task_id.to_string(),
        session_id: session.id.clone(),
        project_id: session.project_id.clone(),
    }
}

/// Links a task to a session on both sides, appends `task_started` with `message`, and emits
/// `session:task_added` then `task:session_added` (API.md #25).
pub(crate) async fn link(
    ctx: &Context,
    session_id: &str,
    task_id: &str,
    message: &str,
) -> Result<Session> {
    load_pair(ctx, session_id, task_id).await?;
    add_session_to_task(ctx, task_id, session_id).await?;
    let now = ctx.now();
    let entry_id = ctx.new_id("evt");
    let session = ctx
        .ports
        .sessions
        .update(session_id, &|s: &mut Session| {
            if !s.task_ids.iter().any(|t| t == task_id) {
                s.task_ids.push(task_id.to_string());
            }
            push_capped(
                &mut s.timeline,
                TimelineEvent {
                    id: entry_id.clone(),
                    kind: "task_started".into(),
                    timestamp: now,
                    message: Some(message.to_string()),
                    task_id: Some(task_id.to_string()),
                    metadata: None,
                },
                MAX_TIMELINE_ENTRIES,
            );
            s.last_activity = now;
            Ok(())
        })
        .await
        .map_err(|e| rename_not_found(e, "Session", session_id))?;
    let link = link_event(&session, task_id);
    ctx.emit(DomainEvent::SessionTaskAdded(link.clone())).await;
    ctx.emit(DomainEvent::TaskSessionAdded(link)).await;
    Ok(session)
}

/// Unlinks a task from a session on both sides, appends `task_completed` "Removed task from
/// session", and emits `session:task_removed` then `task:session_removed` (API.md #26).
pub(crate) async fn unlink(ctx: &Context, session_id: &str, task_id: &str) -> Result<Session> {
    load_pair(ctx, session_id, task_id).await?;
    remove_session_from_task(ctx, task_id, session_id, false).await?;
    let now = ctx.now();
    let entry_id = ctx.new_id("evt");
    let session = ctx
        .ports
        .sessions
        .update(session_id, &|s: &mut Session| {
            s.task_ids.retain(|t| t != task_id);
            push_capped(
                &mut s.timeline,
                TimelineEvent {
                    id: entry_id.clone(),
                    kind: "task_completed".into(),
                    timestamp: now,
                    message: Some("Removed task from session".into()),
                    task_id: Some(task_id.to_string()),
                    metadata: None,
                },
                MAX_TIMELINE_ENTRIES,
            );
            s.last_activity = now;
            Ok(())
        })
        .await
        .map_err(|e| rename_not_found(e, "Session", session_id))?;
    let link = link_event(&session, task_id);
    ctx.emit(DomainEvent::SessionTaskRemoved(link.clone()))
        .await;
    ctx.emit(DomainEvent::TaskSessionRemoved(link)).await;
    Ok(session)
}
