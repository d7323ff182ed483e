//! Socket.IO on the REST port (path `/socket.io/`): the `/ui` (desktop) and `/mobile` (phone)
//! namespaces of EVENTS.md §6, fed by one bridge from the event bus.
//!
//! Rooms: `ui:all` (every `/ui` socket that has not narrowed itself with `subscribe`),
//! `session:<id>` (both namespaces) and `project:<id>` (`/mobile`, joined at connect).
//! Routing uses the same per-event keys as the raw WebSocket (EVENTS.md §4.4):
//! - `/ui`: unscoped events to every socket; session-scoped events to `ui:all` and the
//!   session's room;
//! - `/mobile`: every event of a project to its project room (and a session's room).
//!
//! Only namespace handles are used for emits (never the root-namespace shortcuts). Emits only
//! enqueue into each socket's bounded buffer, so a slow client never blocks routing.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use futures_util::StreamExt;
use maestro_domain::DomainEvent;
use maestro_domain::model::{MailMessageType, NeedsInput};
use maestro_domain::ports::{BusMessage, Principal, SessionFilter, TaskFilter};
use maestro_domain::services::{SendMail, SessionPatch};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

use crate::routes::sessions::spawn_input;
use crate::security::bearer;
use crate::state::AppState;

/// Sender id of mail written from the phone.
pub const MOBILE_SENDER: &str = "mobile-user";
/// Room of `/ui` sockets that get every event.
pub const UI_ALL: &str = "ui:all";

/// Per-socket facts kept in the socket's extensions.
#[derive(Debug, Clone)]
struct SocketInfo {
    /// On loopback and authenticated (or auth off): may receive provider secrets.
    trusted: bool,
    /// `/mobile`: the project the socket is bound to.
    project_id: Option<String>,
}

/// Where one event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    /// `None`: every `/ui` socket; `Some(rooms)`: those rooms only.
    pub ui: Option<Vec<String>>,
    /// `/mobile` rooms (empty: no mobile socket gets it).
    pub mobile: Vec<String>,
}

/// The rooms an event is emitted to.
pub fn targets(event: &DomainEvent) -> Targets {
    let session = event.session_id();
    let ui = session.map(|s| vec![UI_ALL.to_string(), format!("session:{s}")]);
    let mut mobile = Vec::new();
    if let Some(p) = event.project_id() {
        mobile.push(format!("project:{p}"));
    }
    if let Some(s) = session {
        mobile.push(format!("session:{s}"));
    }
    Targets { ui, mobile }
}

/// Builds the Socket.IO layer and registers both namespaces.
pub fn layer(state: &AppState) -> (SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(state.config().body_limit as u64)
        .with_state(state.clone())
        .build_layer();
    io.ns("/ui", ui_connect.with(ui_auth));
    io.ns("/mobile", mobile_connect.with(mobile_auth));
    (layer, io)
}

/// Forwards every bus event to the Socket.IO rooms until the bus closes.
pub fn spawn_bridge(state: AppState, io: SocketIo) -> tokio::task::JoinHandle<()> {
    let mut events = state.services().ports().bus.subscribe();
    tokio::spawn(async move {
        while let Some(msg) = events.next().await {
            match msg {
                BusMessage::Event(e) => route(&state, &io, &e).await,
                BusMessage::Lagged(n) => {
                    tracing::warn!(dropped = n, "Socket.IO bridge fell behind; events dropped");
                }
            }
        }
    })
}

async fn route(state: &AppState, io: &SocketIo, event: &DomainEvent) {
    let now = state.services().context().now();
    let name = event.name();
    let envelope = event.envelope(now);
    let t = targets(event);
    if let Some(ui) = io.of("/ui") {
        let ops = match &t.ui {
            None => ui.broadcast(),
            Some(rooms) => ui.to(rooms.clone()),
        };
        if matches!(event, DomainEvent::SessionSpawn(_)) {
            // Secrets only to trusted local sockets (DEFECTS S3): emit one by one.
            let mut with_secrets = envelope.clone();
            crate::ws::add_secrets(state, &mut with_secrets["data"]);
            for s in ops.sockets() {
                let trusted = s.extensions.get::<SocketInfo>().is_some_and(|i| i.trusted);
                let frame = if trusted { &with_secrets } else { &envelope };
                if let Err(e) = s.emit(name, frame) {
                    tracing::debug!(error = %e, "could not queue event for a /ui socket");
                }
            }
        } else if let Err(e) = ops.emit(name, &envelope).await {
            tracing::debug!(error = %e, event = name, "/ui emit failed");
        }
    }
    if !t.mobile.is_empty()
        && let Some(mobile) = io.of("/mobile")
        && let Err(e) = mobile.to(t.mobile).emit(name, &envelope).await
    {
        tracing::debug!(error = %e, event = name, "/mobile emit failed");
    }
}

/// Authenticates a handshake: `auth.token`, else `Authorization`/`?token=` of the request,
/// by the same rule as every REST request ([`crate::security::resolve`]).
async fn principal(
    state: &AppState,
    s: &SocketRef,
    auth: Option<&Value>,
) -> Result<Principal, String> {
    let parts = s.req_parts();
    let token = auth
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| bearer(&parts.headers, parts.uri.query()));
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    crate::security::resolve(state, peer, &parts.headers, token.as_deref())
        .await
        .map_err(|e| e.to_string())
}

/// A direct loopback connection (a tunnel connects from loopback too, with proxy headers).
fn is_loopback(s: &SocketRef) -> bool {
    s.req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback())
        && !crate::security::is_proxied(&s.req_parts().headers)
}

/// `/ui` handshake: a credential when auth is required.
async fn ui_auth(
    s: SocketRef,
    TryData(auth): TryData<Value>,
    State(state): State<AppState>,
) -> Result<(), String> {
    let p = principal(&state, &s, auth.ok().as_ref()).await?;
    if !p.is_unrestricted() {
        // `/ui` carries every project's events: the desktop app's namespace only.
        return Err("/ui is for the desktop app; signed-in users connect to /mobile".into());
    }
    let trusted = is_loopback(&s) && matches!(p, Principal::Local | Principal::Service);
    s.extensions.insert(SocketInfo {
        trusted,
        project_id: None,
    });
    Ok(())
}

async fn ui_connect(s: SocketRef) {
    s.join(UI_ALL);
    s.on("subscribe", ui_subscribe);
    s.on("unsubscribe", ui_unsubscribe);
    s.on("ping", ui_ping);
}

async fn ui_subscribe(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    let ids = session_ids(d.ok().as_ref());
    for room in s.rooms() {
        if room.starts_with("session:") || room == UI_ALL {
            s.leave(room);
        }
    }
    for id in &ids {
        s.join(format!("session:{id}"));
    }
    let reply = json!({"sessionIds": ids, "timestamp": st.services().context().now()});
    let _ = s.emit("subscribed", &reply);
    let _ = ack.send(&json!({"success": true, "sessionIds": reply["sessionIds"]}));
}

async fn ui_unsubscribe(s: SocketRef, ack: AckSender, State(st): State<AppState>) {
    for room in s.rooms() {
        if room.starts_with("session:") {
            s.leave(room);
        }
    }
    s.join(UI_ALL);
    let reply = json!({"timestamp": st.services().context().now()});
    let _ = s.emit("unsubscribed", &reply);
    let _ = ack.send(&json!({"success": true}));
}

async fn ui_ping(s: SocketRef, ack: AckSender, State(st): State<AppState>) {
    let reply = json!({"timestamp": st.services().context().now()});
    let _ = s.emit("pong", &reply);
    let _ = ack.send(&reply);
}

/// `["a","b"]`, `{"sessionIds": [...]}` or `[["a","b"]]` → the string ids.
fn session_ids(d: Option<&Value>) -> Vec<String> {
    let list = match d {
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_array() => a[0].as_array(),
        Some(Value::Array(a)) => Some(a),
        Some(Value::Object(o)) => o.get("sessionIds").and_then(Value::as_array),
        _ => None,
    };
    let mut ids: Vec<String> = list
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    ids.retain(|i| seen.insert(i.clone()));
    ids
}

/// `/mobile` handshake `auth: {token, projectId}`: the project must exist and the principal
/// may see it; a refusal reaches the JS client as `connect_error` with this message.
async fn mobile_auth(
    s: SocketRef,
    TryData(auth): TryData<Value>,
    State(state): State<AppState>,
) -> Result<(), String> {
    let auth = auth.ok();
    let project_id = auth
        .as_ref()
        .and_then(|a| a.get("projectId"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or("projectId required in the handshake auth")?;
    let p = principal(&state, &s, auth.as_ref()).await?;
    if !maestro_domain::validate::is_safe_id(&project_id) {
        return Err("invalid projectId".into());
    }
    match state.auth().can_access_project(&p, &project_id).await {
        Ok(true) => {}
        Ok(false) => return Err("forbidden: no access to this project".into()),
        Err(e) => return Err(e.to_string()),
    }
    state
        .services()
        .projects
        .get(&project_id)
        .await
        .map_err(|e| e.to_string())?;
    let trusted = is_loopback(&s) && matches!(p, Principal::Local | Principal::Service);
    s.extensions.insert(SocketInfo {
        trusted,
        project_id: Some(project_id),
    });
    Ok(())
}

async fn mobile_connect(s: SocketRef, State(state): State<AppState>) {
    s.join(format!("project:{}", project_of(&s)));
    register_mobile_handlers(&state, &s);
}

fn project_of(s: &SocketRef) -> String {
    s.extensions
        .get::<SocketInfo>()
        .and_then(|i| i.project_id)
        .unwrap_or_default()
}

fn fail(ack: AckSender, message: impl std::fmt::Display) {
    let _ = ack.send(&json!({"success": false, "error": message.to_string()}));
}

fn text(d: &Value, k: &str) -> Option<String> {
    d.get(k).and_then(Value::as_str).map(str::to_string)
}

/// The first argument of an event as an object (`[obj]` is unwrapped).
fn object_arg(d: Option<Value>) -> Option<Value> {
    match d {
        Some(Value::Object(o)) => Some(Value::Object(o)),
        Some(Value::Array(mut a)) if a.len() == 1 && a[0].is_object() => Some(a.remove(0)),
        _ => None,
    }
}

fn register_mobile_handlers(state: &AppState, s: &SocketRef) {
    let st = state.clone();
    s.on(
        "session:subscribe",
        async move |s: SocketRef, TryData(d): TryData<Value>, ack: AckSender| {
            let ids = session_ids(d.ok().as_ref());
            if ids.is_empty() {
                return fail(ack, "expected an array of session ids");
            }
            let project = project_of(&s);
            for id in &ids {
                match st.services().sessions.get(id).await {
                    Ok(sess) if sess.project_id == project => {}
                    Ok(_) => {
                        return fail(ack, format!("session '{id}' belongs to another project"));
                    }
                    Err(e) => return fail(ack, e),
                }
            }
            for id in &ids {
                s.join(format!("session:{id}"));
            }
            let _ = ack.send(&json!({"success": true, "sessionIds": ids}));
        },
    );
    let st = state.clone();
    s.on(
        "mail:send",
        async move |s: SocketRef, TryData(d): TryData<Value>, ack: AckSender| {
            let Some(d) = object_arg(d.ok()) else {
                return fail(
                    ack,
                    "expected {toSessionId|toTeamMemberId, type, subject, body}",
                );
            };
            let kind = match d.get("type") {
                None | Some(Value::Null) => MailMessageType::Directive,
                Some(v) => match v.as_str().and_then(MailMessageType::parse) {
                    Some(k) => k,
                    None => return fail(ack, format!("invalid mail type {v}")),
                },
            };
            let to = text(&d, "toSessionId");
            let member = text(&d, "toTeamMemberId");
            if to.is_none() && member.is_none() {
                return fail(ack, "toSessionId or toTeamMemberId is required");
            }
            let body = d.get("body").cloned();
            let input = SendMail {
                project_id: project_of(&s),
                from_session_id: MOBILE_SENDER.into(),
                to_session_id: to,
                to_team_member_id: member,
                reply_to_mail_id: text(&d, "replyToMailId"),
                kind,
                subject: text(&d, "subject").unwrap_or_default(),
                body,
            };
            match st.services().mail.send(input).await {
                Ok(mut sent) => {
                    let mail = if sent.len() == 1 {
                        json!(sent.remove(0))
                    } else {
                        json!(sent)
                    };
                    let _ = ack.send(&json!({"success": true, "mail": mail}));
                }
                Err(e) => fail(ack, e),
            }
        },
    );
    let st = state.clone();
    s.on(
        "session:reply-input",
        async move |s: SocketRef, TryData(d): TryData<Value>, ack: AckSender| {
            let Some(d) = object_arg(d.ok()) else {
                return fail(ack, "expected {sessionId, message}");
            };
            let (Some(session_id), Some(message)) = (text(&d, "sessionId"), text(&d, "message"))
            else {
                return fail(ack, "sessionId and message are required");
            };
            let project = project_of(&s);
            match st.services().sessions.get(&session_id).await {
                Ok(sess) if sess.project_id == project => {}
                Ok(_) => return fail(ack, "session belongs to another project"),
                Err(e) => return fail(ack, e),
            }
            // Deliver the answer first, so it is never lost even if the flag update fails.
            let mail = st
                .services()
                .mail
                .send(SendMail {
                    project_id: project,
                    from_session_id: MOBILE_SENDER.into(),
                    to_session_id: Some(session_id.clone()),
                    to_team_member_id: None,
                    reply_to_mail_id: None,
                    kind: MailMessageType::Response,
                    subject: "Reply from mobile".into(),
                    body: Some(json!({"answer": message})),
                })
                .await;
            let mail = match mail {
                Ok(mut m) => m.remove(0),
                Err(e) => return fail(ack, e),
            };
            let patch = SessionPatch {
                needs_input: Some(NeedsInput {
                    active: false,
                    message: None,
                    since: None,
                }),
                ..SessionPatch::default()
            };
            match st.services().sessions.update(&session_id, patch).await {
                Ok(session) => {
                    let _ = ack.send(&json!({"success": true, "mail": mail, "session": session}));
                }
                Err(e) => fail(ack, e),
            }
        },
    );
    let st = state.clone();
    s.on("state:sync", async move |s: SocketRef, ack: AckSender| {
        let project_id = project_of(&s);
        let svc = st.services();
        let snapshot = async {
            let project = svc.projects.get(&project_id).await?;
            let sessions = svc
                .ports()
                .sessions
                .list(&SessionFilter {
                    project_id: Some(project_id.clone()),
                    ..SessionFilter::default()
                })
                .await?;
            let tasks = svc
                .tasks
                .list(&TaskFilter {
                    project_id: Some(project_id.clone()),
                    ..TaskFilter::default()
                })
                .await?;
            let team = svc.team_members.list(&project_id).await?;
            Ok::<_, maestro_domain::DomainError>(json!({
                "success": true,
                "project": project,
                "sessions": sessions,
                "tasks": tasks,
                "teamMembers": team,
            }))
        };
        match snapshot.await {
            Ok(v) => {
                let _ = ack.send(&v);
            }
            Err(e) => fail(ack, e),
        }
    });
    let st = state.clone();
    s.on(
        "session:spawn",
        async move |s: SocketRef, TryData(d): TryData<Value>, ack: AckSender| {
            let Some(mut d) = object_arg(d.ok()) else {
                return fail(ack, "expected a spawn request object");
            };
            let project = project_of(&s);
            match d.get("projectId").and_then(Value::as_str) {
                Some(p) if p != project => {
                    return fail(ack, "projectId does not match this connection");
                }
                _ => d["projectId"] = json!(project),
            }
            match st.spawn_service().spawn(spawn_input(&d)).await {
                Ok(out) => {
                    let _ = ack.send(&json!({
                        "success": true,
                        "sessionId": out.session.id,
                        "manifestPath": out.manifest_path,
                        "session": out.session,
                    }));
                }
                Err(e) => fail(ack, e),
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Value {
        json!({"id": "P", "name": "n", "createdAt": 1, "updatedAt": 1})
    }

    fn task() -> Value {
        json!({"id": "T", "projectId": "P", "title": "t", "status": "todo", "createdAt": 1, "updatedAt": 1})
    }

    fn session() -> Value {
        json!({"id": "S", "projectId": "P", "name": "n", "status": "idle", "startedAt": 1, "lastActivity": 1})
    }

    fn member() -> Value {
        json!({"id": "M", "projectId": "P", "name": "n", "role": "r", "avatar": "a", "status": "active", "createdAt": "x", "updatedAt": "x"})
    }

    fn mail() -> Value {
        json!({"id": "X", "projectId": "P", "fromSessionId": "A", "toSessionId": "S", "type": "query", "subject": "s", "createdAt": 1})
    }

    fn event(name: &str, data: Value) -> DomainEvent {
        serde_json::from_value(json!({"event": name, "data": data})).unwrap()
    }

    const UNSCOPED: Option<&str> = None;

    /// One test per event kind: its session key and project key, and so its rooms.
    macro_rules! routing {
        ($($test:ident: $name:literal, $data:expr, $session:expr, $project:expr;)+) => {
            $(
                #[test]
                fn $test() {
                    let e = event($name, $data);
                    assert_eq!(e.name(), $name);
                    let session: Option<&str> = $session;
                    let project: Option<&str> = $project;
                    assert_eq!(e.session_id(), session, "session key of {}", $name);
                    assert_eq!(e.project_id(), project, "project key of {}", $name);
                    let t = targets(&e);
                    match session {
                        None => assert_eq!(t.ui, None),
                        Some(s) => assert_eq!(t.ui, Some(vec![UI_ALL.to_string(), format!("session:{s}")])),
                    }
                    let mut mobile: Vec<String> = project.iter().map(|p| format!("project:{p}")).collect();
                    mobile.extend(session.iter().map(|s| format!("session:{s}")));
                    assert_eq!(t.mobile, mobile);
                }
            )+

            #[test]
            fn every_event_kind_has_a_routing_test() {
                let tested = [$($name),+];
                for name in DomainEvent::NAMES {
                    assert!(tested.contains(name), "{name} has no routing test");
                }
            }
        };
    }

    routing! {
        project_created: "project:created", project(), UNSCOPED, Some("P");
        project_updated: "project:updated", project(), UNSCOPED, Some("P");
        project_deleted: "project:deleted", json!({"id": "P"}), UNSCOPED, Some("P");
        task_created: "task:created", task(), UNSCOPED, Some("P");
        task_updated: "task:updated", task(), UNSCOPED, Some("P");
        task_deleted: "task:deleted", json!({"id": "T", "projectId": "P"}), UNSCOPED, Some("P");
        task_session_added: "task:session_added", json!({"taskId": "T", "sessionId": "S", "projectId": "P"}), Some("S"), Some("P");
        task_session_removed: "task:session_removed", json!({"taskId": "T", "sessionId": "S", "projectId": "P"}), Some("S"), Some("P");
        session_created: "session:created", session(), Some("S"), Some("P");
        session_spawn: "session:spawn", json!({"session": session(), "command": "c", "cwd": "/", "envVars": {}, "manifest": {}, "projectId": "P", "taskIds": ["T"], "spawnSource": "ui", "parentSessionId": null, "_isSpawnCreated": true}), Some("S"), Some("P");
        session_updated: "session:updated", session(), Some("S"), Some("P");
        session_deleted: "session:deleted", json!({"id": "S", "projectId": "P"}), Some("S"), Some("P");
        session_task_added: "session:task_added", json!({"taskId": "T", "sessionId": "S", "projectId": "P"}), Some("S"), Some("P");
        session_task_removed: "session:task_removed", json!({"taskId": "T", "sessionId": "S", "projectId": "P"}), Some("S"), Some("P");
        notify_task_completed: "notify:task_completed", json!({"taskId": "T", "title": "t", "projectId": "P"}), UNSCOPED, Some("P");
        notify_task_failed: "notify:task_failed", json!({"taskId": "T", "title": "t", "projectId": "P"}), UNSCOPED, Some("P");
        notify_task_in_review: "notify:task_in_review", json!({"taskId": "T", "title": "t", "projectId": "P"}), UNSCOPED, Some("P");
        notify_task_blocked: "notify:task_blocked", json!({"taskId": "T", "title": "t", "projectId": "P"}), UNSCOPED, Some("P");
        notify_task_session_completed: "notify:task_session_completed", json!({"taskId": "T", "sessionId": "S", "title": "t", "projectId": "P"}), Some("S"), Some("P");
        notify_task_session_failed: "notify:task_session_failed", json!({"taskId": "T", "sessionId": "S", "title": "t", "projectId": "P"}), Some("S"), Some("P");
        notify_session_completed: "notify:session_completed", json!({"sessionId": "S", "name": "n", "projectId": "P"}), Some("S"), Some("P");
        notify_session_failed: "notify:session_failed", json!({"sessionId": "S", "name": "n", "projectId": "P"}), Some("S"), Some("P");
        notify_needs_input: "notify:needs_input", json!({"sessionId": "S", "name": "n", "message": "m", "projectId": "P"}), Some("S"), Some("P");
        notify_progress: "notify:progress", json!({"sessionId": "S", "message": "m", "projectId": "P"}), Some("S"), Some("P");
        session_modal: "session:modal", json!({"sessionId": "S", "modalId": "m", "title": "t", "html": "h", "filePath": "f", "timestamp": 1, "projectId": "P"}), Some("S"), Some("P");
        session_modal_action: "session:modal_action", json!({"sessionId": "S", "modalId": "m", "action": "a", "data": {}, "timestamp": 1, "projectId": "P"}), Some("S"), Some("P");
        session_modal_closed: "session:modal_closed", json!({"sessionId": "S", "modalId": "m", "timestamp": 1, "projectId": "P"}), Some("S"), Some("P");
        team_member_created: "team_member:created", member(), UNSCOPED, Some("P");
        team_member_updated: "team_member:updated", member(), UNSCOPED, Some("P");
        team_member_deleted: "team_member:deleted", json!({"id": "M", "projectId": "P"}), UNSCOPED, Some("P");
        team_member_archived: "team_member:archived", member(), UNSCOPED, Some("P");
        mail_received: "mail:received", mail(), UNSCOPED, Some("P");
        mail_deleted: "mail:deleted", json!({"id": "X", "projectId": "P"}), UNSCOPED, Some("P");
    }

    #[test]
    fn session_ids_accept_the_three_shapes() {
        assert_eq!(session_ids(Some(&json!(["a", "b", "a"]))), ["a", "b"]);
        assert_eq!(session_ids(Some(&json!([["a"]]))), ["a"]);
        assert_eq!(session_ids(Some(&json!({"sessionIds": ["x", 1]}))), ["x"]);
        assert!(session_ids(Some(&json!("a"))).is_empty());
    }
}
