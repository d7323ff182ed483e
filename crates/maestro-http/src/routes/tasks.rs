//! `/api/tasks` (API.md §5).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use maestro_domain::FieldError;
use maestro_domain::model::{
    Open, Task, TaskPriority, TaskSessionStatus, TaskStatus, UpdateSource,
};
use maestro_domain::ports::Principal;
use maestro_domain::ports::TaskFilter;
use maestro_domain::services::{NewTask, TaskDoc, TaskPatch};
use serde::{Deserialize, Serialize};

use crate::answers::{Deleted, TaskTimelineAck};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path, Query};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Method::GET,
        "/api/tasks",
        "tasks",
        "List tasks (projectId, status, parentId filters)",
        get(list),
    )
    .query::<ListQuery>()
    .ok::<Vec<Task>>(200)
    .add(
        Method::POST,
        "/api/tasks",
        "tasks",
        "Create a task",
        post(create),
    )
    .body::<CreateBody>()
    .ok::<Task>(201)
    .example(serde_json::json!({"projectId": "proj_1", "title": "Write the parser", "priority": "high"}))
    .add(
        Method::GET,
        "/api/tasks/{id}",
        "tasks",
        "Get a task",
        get(one),
    )
    .ok::<Task>(200)
    .add(
        Method::PATCH,
        "/api/tasks/{id}",
        "tasks",
        "Update a task (user or session mode)",
        patch(update),
    )
    .body::<PatchBody>()
    .ok::<Task>(200)
    .example(serde_json::json!({"updateSource": "session", "sessionId": "sess_1", "sessionStatus": "working"}))
    .add(
        Method::DELETE,
        "/api/tasks/{id}",
        "tasks",
        "Delete a task and its descendants",
        delete(remove),
    )
    .ok::<Deleted>(200)
    .add(
        Method::POST,
        "/api/tasks/{id}/timeline",
        "tasks",
        "Add a session timeline entry about this task",
        post(timeline),
    )
    .body::<TimelineBody>()
    .ok::<TaskTimelineAck>(200)
    .add(
        Method::GET,
        "/api/tasks/{id}/docs",
        "tasks",
        "Docs of the task's sessions",
        get(docs),
    )
    .ok::<Vec<TaskDoc>>(200)
    .add(
        Method::GET,
        "/api/tasks/{id}/children",
        "tasks",
        "Direct children",
        get(children),
    )
    .ok::<Vec<Task>>(200)
    .add(
        Method::POST,
        "/api/tasks/{id}/claim",
        "tasks",
        "Claim the task for a session, or renew the claim (fenced; 409 TASK_CLAIMED when another session holds it)",
        post(claim),
    )
    .body::<ClaimBody>()
    .ok::<ClaimAnswer>(200)
    .example(serde_json::json!({"sessionId": "sess_1", "ttlMs": 30000}))
    .add(
        Method::DELETE,
        "/api/tasks/{id}/claim",
        "tasks",
        "Release the task's claim (its holder only)",
        delete(release_claim),
    )
    .query::<ReleaseQuery>()
    .ok::<Task>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaskListQuery")]
struct ListQuery {
    project_id: Option<String>,
    status: Option<String>,
    parent_id: Option<String>,
}

async fn list(s: Scoped, Query(q): Query<ListQuery>) -> ApiResult<Response> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(v) => Some(TaskStatus::parse(v).ok_or_else(|| {
            ApiError::bad_request(
                format!("Invalid query parameters: unknown status \"{v}\""),
                vec![],
            )
        })?),
    };
    let filter = TaskFilter {
        project_id: q.project_id.filter(|p| !p.is_empty()),
        status,
        parent_id: q
            .parent_id
            .map(|p| if p == "null" { None } else { Some(p) }),
        session_id: None,
    };
    // Per-project listings of unrestricted callers come from the listing cache.
    let cache = s
        .state()
        .list_cache()
        .cloned()
        .filter(|_| s.principal().is_unrestricted());
    if let (Some(cache), Some(project)) = (cache, filter.project_id.clone()) {
        let key = format!("{:?}|{:?}", filter.status, filter.parent_id);
        if let Some(body) = cache.get(&project, &key) {
            return Ok(json_bytes(body));
        }
        let seen = cache.generation(&project);
        let tasks = s.services().tasks.list(&filter).await?;
        let body =
            Bytes::from(serde_json::to_vec(&tasks).map_err(|e| {
                ApiError::Domain(maestro_domain::DomainError::Internal(e.to_string()))
            })?);
        cache.put(&project, &key, seen, body.clone());
        return Ok(json_bytes(body));
    }
    Ok(Json(s.services().tasks.list(&filter).await?).into_response())
}

fn json_bytes(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaskCreateRequest")]
struct CreateBody {
    #[schemars(required)]
    project_id: Option<String>,
    #[schemars(required)]
    title: Option<String>,
    description: Option<String>,
    priority: Option<Open<TaskPriority>>,
    parent_id: Option<String>,
    initial_prompt: Option<String>,
    skill_ids: Option<Vec<String>>,
    reference_task_ids: Option<Vec<String>>,
    team_member_id: Option<String>,
    team_member_ids: Option<Vec<String>>,
}

async fn create(s: Scoped, Body(b): Body<CreateBody>) -> ApiResult<(StatusCode, Json<Task>)> {
    let t = s
        .services()
        .tasks
        .create(NewTask {
            project_id: b.project_id,
            title: b.title,
            description: b.description,
            priority: b.priority,
            parent_id: b.parent_id,
            initial_prompt: b.initial_prompt,
            skill_ids: b.skill_ids,
            reference_task_ids: b.reference_task_ids,
            team_member_id: b.team_member_id,
            team_member_ids: b.team_member_ids,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

async fn one(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Task>> {
    Ok(Json(s.services().tasks.get(&id).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaskPatchRequest")]
struct PatchBody {
    update_source: Option<UpdateSource>,
    session_id: Option<String>,
    session_status: Option<TaskSessionStatus>,
    title: Option<String>,
    description: Option<String>,
    priority: Option<Open<TaskPriority>>,
    status: Option<TaskStatus>,
    session_ids: Option<Vec<String>>,
    skill_ids: Option<Vec<String>>,
    agent_ids: Option<Vec<String>>,
    reference_task_ids: Option<Vec<String>>,
    pinned: Option<bool>,
    team_member_id: Option<String>,
    team_member_ids: Option<Vec<String>>,
    task_session_statuses: Option<BTreeMap<String, TaskSessionStatus>>,
    /// The writer's claim's fencing token (or `If-Match`): refused with 409 unless current.
    fencing_token: Option<u64>,
}

async fn update(
    s: Scoped,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(b): Body<PatchBody>,
) -> ApiResult<Json<Task>> {
    let fencing_token = fencing_token(b.fencing_token, &headers)?;
    let t = s
        .services()
        .tasks
        .update(
            &id,
            TaskPatch {
                update_source: b.update_source,
                session_id: b.session_id,
                session_status: b.session_status,
                title: b.title,
                description: b.description,
                priority: b.priority,
                status: b.status,
                session_ids: b.session_ids,
                skill_ids: b.skill_ids,
                agent_ids: b.agent_ids,
                reference_task_ids: b.reference_task_ids,
                pinned: b.pinned,
                team_member_id: b.team_member_id,
                team_member_ids: b.team_member_ids,
                task_session_statuses: b.task_session_statuses,
                fencing_token,
            },
        )
        .await?;
    Ok(Json(t))
}

async fn remove(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Deleted>> {
    s.services().tasks.delete(&id).await?;
    Ok(Json(Deleted::new(id)))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaskTimelineRequest")]
struct TimelineBody {
    message: Option<String>,
    session_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn timeline(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<TimelineBody>,
) -> ApiResult<Json<TaskTimelineAck>> {
    let kind = b.kind.clone().unwrap_or_else(|| "progress".into());
    s.services()
        .tasks
        .add_timeline(
            &id,
            b.session_id.as_deref(),
            b.message.as_deref(),
            Some(&kind),
        )
        .await?;
    Ok(Json(TaskTimelineAck {
        success: true,
        task_id: id,
        session_id: b.session_id,
        message: b.message,
        kind,
    }))
}

async fn docs(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Vec<TaskDoc>>> {
    Ok(Json(s.services().tasks.docs(&id).await?))
}

async fn children(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Vec<Task>>> {
    Ok(Json(s.services().tasks.children(&id).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaskClaimRequest")]
struct ClaimBody {
    /// The claiming session [default: the caller's own, with a session token].
    session_id: Option<String>,
    /// 1,000–600,000 [default: 30,000]; claim again before it passes to keep the claim.
    ttl_ms: Option<u64>,
}

/// `POST /api/tasks/{id}/claim`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ClaimAnswer {
    task_id: String,
    session_id: String,
    /// Send it with task writes (`fencingToken` or `If-Match`): a write with a stale one is
    /// refused (409 STALE_FENCING_TOKEN).
    fencing_token: u64,
    expires_at: i64,
    /// The holder claimed again before its claim lapsed.
    renewed: bool,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TaskClaimReleaseQuery")]
struct ReleaseQuery {
    /// The holder [default: the caller's own session, with a session token].
    session_id: Option<String>,
}

/// The session a claim request is for: the one named, else the caller's own.
fn claimant(s: &Scoped, named: Option<String>) -> Option<String> {
    named.or_else(|| match s.principal() {
        Principal::Session { session_id, .. } => Some(session_id.clone()),
        _ => None,
    })
}

async fn claim(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ClaimBody>,
) -> ApiResult<Json<ClaimAnswer>> {
    let session = claimant(&s, b.session_id);
    let c = s
        .claim_service()?
        .claim(
            &id,
            session.as_deref(),
            b.ttl_ms.map(std::time::Duration::from_millis),
        )
        .await?;
    Ok(Json(ClaimAnswer {
        task_id: c.task_id,
        session_id: c.session_id,
        fencing_token: c.fencing_token,
        expires_at: c.expires_at,
        renewed: c.renewed,
    }))
}

async fn release_claim(
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<ReleaseQuery>,
) -> ApiResult<Json<Task>> {
    let session = claimant(&s, q.session_id);
    Ok(Json(
        s.claim_service()?.release(&id, session.as_deref()).await?,
    ))
}

/// The fencing token of a write: `fencingToken` in the body, else `If-Match` (`12` or
/// `"12"`); both given and different is a bad request.
fn fencing_token(body: Option<u64>, headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let header = match headers.get(header::IF_MATCH) {
        None => None,
        Some(v) => {
            let text = v.to_str().unwrap_or_default().trim().trim_matches('"');
            Some(text.parse::<u64>().map_err(|_| {
                ApiError::bad_request(
                    "If-Match must be a task claim's fencing token",
                    vec![FieldError::new("If-Match", "expected a number")],
                )
            })?)
        }
    };
    match (body, header) {
        (Some(b), Some(h)) if b != h => Err(ApiError::bad_request(
            "fencingToken and If-Match disagree",
            vec![FieldError::new("fencingToken", "differs from If-Match")],
        )),
        (b, h) => Ok(b.or(h)),
    }
}
