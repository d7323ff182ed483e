//! `/api/sessions` (API.md §6) and the agent heartbeat.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use maestro_domain::DomainError;
use maestro_domain::model::{
    DocEntry, JsonObject, NeedsInput, Session, SessionEvent, SessionStatus, TimelineEvent,
};
use maestro_domain::services::{
    DocInput, NewSession, SessionPatch, SessionQuery, ShowModal, TimelineInput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::answers::{
    Deleted, HeartbeatAck, ModalActionAck, ModalClosed, ModalShown, ReplySent, Spawned,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path, Query};
use crate::routes::Api;
use crate::scope::Scoped;

// Long on purpose: the route table, one declarative entry per route of API.md §6.
pub(super) fn routes(api: Api) -> Api {
    const T: &str = "sessions";
    api.add(
        Method::POST,
        "/api/sessions",
        T,
        "Create (register) a session",
        post(create),
    ).body::<CreateBody>().ok::<Session>(201).example(serde_json::json!({"projectId": "proj_1", "taskIds": ["task_1"], "name": "worker"}))
    .add(
        Method::GET,
        "/api/sessions",
        T,
        "List sessions (projectId, taskId, status, active)",
        get(list),
    ).query::<ListQuery>().ok::<Vec<Session>>(200)
    .add(
        Method::POST,
        "/api/sessions/spawn",
        T,
        "Spawn an agent session",
        post(spawn),
    ).body::<crate::requests::SpawnSchema>().ok::<Spawned>(201).example(serde_json::json!({"projectId": "proj_1", "taskIds": ["task_1"], "mode": "execute", "agentTool": "claude-code"}))
    .add(
        Method::GET,
        "/api/sessions/{id}",
        T,
        "Get a session",
        get(one),
    ).ok::<Session>(200)
    .add(
        Method::PATCH,
        "/api/sessions/{id}",
        T,
        "Update a session",
        patch(update),
    ).body::<PatchBody>().ok::<Session>(200).example(serde_json::json!({"status": "completed"}))
    .add(
        Method::DELETE,
        "/api/sessions/{id}",
        T,
        "Delete a session",
        delete(remove),
    ).ok::<Deleted>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/events",
        T,
        "Append a session event",
        post(add_event),
    ).body::<EventBody>().ok::<Session>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/timeline",
        T,
        "Append a timeline entry",
        post(add_timeline),
    ).body::<TimelineBody>().ok::<Session>(200).example(serde_json::json!({"type": "progress", "message": "Parser done", "taskId": "task_1"}))
    .add(
        Method::POST,
        "/api/sessions/{id}/docs",
        T,
        "Attach a doc",
        post(add_doc),
    ).body::<DocBody>().ok::<Session>(200)
    .add(
        Method::GET,
        "/api/sessions/{id}/docs",
        T,
        "List the session's docs",
        get(docs),
    ).ok::<Vec<DocEntry>>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/tasks/{task_id}",
        T,
        "Link a task",
        post(link),
    ).ok::<Session>(200)
    .add(
        Method::DELETE,
        "/api/sessions/{id}/tasks/{task_id}",
        T,
        "Unlink a task",
        delete(unlink),
    ).ok::<Session>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/modal",
        T,
        "Show a modal in the UI",
        post(modal),
    ).body::<ModalBody>().ok::<ModalShown>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/modal/{modal_id}/actions",
        T,
        "A user action in a modal",
        post(modal_action),
    ).body::<ActionBody>().ok::<ModalActionAck>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/reply",
        T,
        "The person answers the agent's question (needsInput): a response mail {answer} from mobile-user, then needsInput cleared; 422 when the session has ended (what the phone's session:reply-input does)",
        post(reply),
    ).body::<ReplyBody>().ok::<ReplySent>(200).example(serde_json::json!({"message": "Go ahead"}))
    .add(
        Method::POST,
        "/api/sessions/{id}/modal/{modal_id}/close",
        T,
        "A modal was closed",
        post(modal_close),
    ).ok::<ModalClosed>(200)
    .add(
        Method::POST,
        "/api/sessions/{id}/heartbeat",
        T,
        "Agent liveness heartbeat",
        post(heartbeat),
    ).ok::<HeartbeatAck>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionCreateRequest")]
struct CreateBody {
    id: Option<String>,
    #[schemars(required)]
    project_id: Option<String>,
    task_ids: Option<Vec<String>>,
    task_id: Option<String>,
    name: Option<String>,
    agent_id: Option<String>,
    status: Option<SessionStatus>,
    env: Option<BTreeMap<String, String>>,
    metadata: Option<JsonObject>,
}

async fn create(s: Scoped, Body(b): Body<CreateBody>) -> ApiResult<(StatusCode, Json<Session>)> {
    let session = s
        .services()
        .sessions
        .create(NewSession {
            id: b.id,
            project_id: b.project_id,
            task_ids: b.task_ids,
            task_id: b.task_id,
            name: b.name,
            agent_id: b.agent_id,
            status: b.status,
            env: b.env,
            metadata: b.metadata,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionListQuery")]
struct ListQuery {
    project_id: Option<String>,
    task_id: Option<String>,
    status: Option<String>,
    active: Option<String>,
}

async fn list(s: Scoped, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<Session>>> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(v) => Some(SessionStatus::parse(v).ok_or_else(|| {
            ApiError::bad_request(
                format!("Invalid query parameters: unknown status \"{v}\""),
                vec![],
            )
        })?),
    };
    let query = SessionQuery {
        project_id: q.project_id.filter(|p| !p.is_empty()),
        task_id: q.task_id.filter(|t| !t.is_empty()),
        status,
        active: q.active.as_deref() == Some("true"),
    };
    Ok(Json(s.services().sessions.list(&query).await?))
}

async fn one(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Session>> {
    Ok(Json(s.services().sessions.get(&id).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionPatchRequest")]
struct PatchBody {
    task_ids: Option<Vec<String>>,
    status: Option<SessionStatus>,
    agent_id: Option<String>,
    env: Option<BTreeMap<String, String>>,
    events: Option<Vec<JsonObject>>,
    timeline: Option<Vec<JsonObject>>,
    needs_input: Option<NeedsInput>,
}

/// Fills a client-sent list entry's missing `id`/`timestamp` and parses it.
fn entry<T: serde::de::DeserializeOwned>(
    s: &Scoped,
    mut o: JsonObject,
    field: &str,
    i: usize,
) -> ApiResult<T> {
    let ctx = s.services().context();
    o.entry("id")
        .or_insert_with(|| Value::String(ctx.new_id("evt")));
    o.entry("timestamp").or_insert_with(|| json!(ctx.now()));
    serde_json::from_value(Value::Object(o)).map_err(|e| {
        let path = format!("{field}.{i}");
        ApiError::bad_request(
            format!("Invalid request body: {path}: {e}"),
            vec![maestro_domain::FieldError::new(path, e.to_string())],
        )
    })
}

async fn update(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<PatchBody>,
) -> ApiResult<Json<Session>> {
    let events = match b.events {
        Some(list) => Some(
            list.into_iter()
                .enumerate()
                .map(|(i, o)| entry::<SessionEvent>(&s, o, "events", i))
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        None => None,
    };
    let timeline = match b.timeline {
        Some(list) => Some(
            list.into_iter()
                .enumerate()
                .map(|(i, o)| entry::<TimelineEvent>(&s, o, "timeline", i))
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        None => None,
    };
    let session = s
        .services()
        .sessions
        .update(
            &id,
            SessionPatch {
                task_ids: b.task_ids,
                status: b.status,
                agent_id: b.agent_id,
                env: b.env,
                events,
                timeline,
                needs_input: b.needs_input,
            },
        )
        .await?;
    Ok(Json(session))
}

async fn remove(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Deleted>> {
    s.agent_service().delete_session(&id).await?;
    Ok(Json(Deleted::new(id)))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "SessionEventRequest")]
struct EventBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    data: Option<Value>,
}

async fn add_event(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<EventBody>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        s.services()
            .sessions
            .add_event(&id, b.kind.as_deref(), b.data)
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionTimelineRequest")]
struct TimelineBody {
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    task_id: Option<String>,
    metadata: Option<Value>,
}

async fn add_timeline(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<TimelineBody>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        s.services()
            .sessions
            .add_timeline(
                &id,
                TimelineInput {
                    message: b.message,
                    kind: b.kind,
                    task_id: b.task_id,
                    metadata: b.metadata,
                },
            )
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionDocRequest")]
struct DocBody {
    #[schemars(required)]
    title: Option<String>,
    #[schemars(required)]
    file_path: Option<String>,
    content: Option<String>,
    task_id: Option<String>,
}

async fn add_doc(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<DocBody>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        s.services()
            .sessions
            .add_doc(
                &id,
                DocInput {
                    title: b.title,
                    file_path: b.file_path,
                    content: b.content,
                    task_id: b.task_id,
                },
            )
            .await?,
    ))
}

async fn docs(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Vec<DocEntry>>> {
    Ok(Json(s.services().sessions.docs(&id).await?))
}

async fn link(s: Scoped, Path((id, task_id)): Path<(String, String)>) -> ApiResult<Json<Session>> {
    Ok(Json(s.services().sessions.link_task(&id, &task_id).await?))
}

async fn unlink(
    s: Scoped,
    Path((id, task_id)): Path<(String, String)>,
) -> ApiResult<Json<Session>> {
    Ok(Json(
        s.services().sessions.unlink_task(&id, &task_id).await?,
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionModalRequest")]
struct ModalBody {
    #[schemars(required)]
    modal_id: Option<String>,
    #[schemars(required)]
    html: Option<String>,
    title: Option<String>,
    file_path: Option<String>,
}

async fn modal(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ModalBody>,
) -> ApiResult<Json<ModalShown>> {
    let modal_id = s
        .agent_service()
        .show_modal(
            &id,
            ShowModal {
                modal_id: b.modal_id,
                html: b.html,
                title: b.title,
                file_path: b.file_path,
            },
        )
        .await?;
    Ok(Json(ModalShown {
        success: true,
        modal_id,
        session_id: id,
        message: "Modal sent to UI".into(),
    }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "SessionModalActionRequest")]
struct ActionBody {
    action: Option<String>,
    data: Option<Value>,
}

async fn modal_action(
    s: Scoped,
    Path((id, modal_id)): Path<(String, String)>,
    Body(b): Body<ActionBody>,
) -> ApiResult<Json<ModalActionAck>> {
    let action = s
        .agent_service()
        .modal_action(&id, &modal_id, b.action, b.data)
        .await?;
    Ok(Json(ModalActionAck {
        success: true,
        modal_id,
        action,
    }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "SessionReplyRequest")]
struct ReplyBody {
    message: Option<String>,
}

async fn reply(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ReplyBody>,
) -> ApiResult<Json<ReplySent>> {
    let message = b
        .message
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| DomainError::invalid_field("message", "message is required"))?;
    let services = s.services();
    let project_id = services.sessions.get(&id).await?.project_id;
    let r = services.reply_to_input(&project_id, &id, &message).await?;
    Ok(Json(ReplySent {
        success: true,
        mail: r.mail,
        session: r.session,
    }))
}

async fn modal_close(
    s: Scoped,
    Path((id, modal_id)): Path<(String, String)>,
) -> ApiResult<Json<ModalClosed>> {
    s.agent_service().close_modal(&id, &modal_id).await?;
    Ok(Json(ModalClosed {
        success: true,
        modal_id,
    }))
}

async fn spawn(s: Scoped, Body(b): Body<Value>) -> ApiResult<(StatusCode, Json<Spawned>)> {
    if !b.is_object() {
        return Err(ApiError::bad_request(
            "Invalid request body: expected an object",
            vec![],
        ));
    }
    let out = s.spawn_service().spawn(crate::requests::spawn(&b)).await?;
    Ok((
        StatusCode::CREATED,
        Json(Spawned {
            success: true,
            session_id: out.session.id.clone(),
            manifest_path: out.manifest_path,
            message: "Spawn request sent to Agent Maestro".into(),
            session: out.session,
        }),
    ))
}

async fn heartbeat(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<HeartbeatAck>> {
    let beat = s.agent_service().heartbeat(&id).await?;
    Ok(Json(HeartbeatAck {
        success: true,
        session_id: id,
        ttl_ms: beat.ttl.as_millis() as u64,
        expires_at: beat.expires_at,
    }))
}
