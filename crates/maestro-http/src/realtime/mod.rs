//! Socket.IO on the REST port (path `/socket.io/`): the `/ui` (desktop) and `/mobile` (phone)
//! namespaces of EVENTS.md §6, fed by one bridge from the event bus.
//!
//! Rooms: `ui:all` (every `/ui` socket that has not narrowed itself with `subscribe`),
//! `session:<id>` (both namespaces) and `project:<id>` (`/mobile`, joined at connect).
//! Routing uses the same per-event keys as the raw WebSocket (EVENTS.md §4.4):
//! - `/ui`: unscoped events to every socket; session-scoped events to `ui:all` and the
//!   session's room;
//! - `/mobile`: every event of a project to its project room (and a session's room); a
//!   member removed from a project is disconnected from its room at once.
//!
//! Socket.IO events carry their project log id as a second argument (the envelope stays the
//! spec's); a `/mobile` socket resumes from the last one it saw (`resume`).
//!
//! Only namespace handles are used for emits (never the root-namespace shortcuts). Emits only
//! enqueue into each socket's bounded buffer, so a slow client never blocks routing.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use futures_util::StreamExt;
use maestro_domain::DomainEvent;
use maestro_domain::ports::{BusEvent, BusMessage, Principal};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

use crate::security::bearer;
use crate::state::AppState;

mod handshake;
mod mobile;
mod resume;
mod ui;

pub use handshake::{
    CONNECT_TIMEOUT, HandshakeLimiter, MAX_PENDING_PER_CLIENT, MAX_PENDING_TOTAL,
    limit as limit_handshakes,
};
pub use resume::{RESUMED, RESYNC_REQUIRED, RouteGate};

/// Sender id of mail written from the phone.
pub const MOBILE_SENDER: &str = maestro_domain::services::PHONE_SENDER;
/// Room of `/ui` sockets that get every event.
pub const UI_ALL: &str = "ui:all";

/// Per-socket facts kept in the socket's extensions.
#[derive(Debug, Clone)]
pub(crate) struct SocketInfo {
    /// On loopback and authenticated (or auth off): may receive provider secrets.
    pub(crate) trusted: bool,
    /// `/mobile`: the project the socket is bound to.
    pub(crate) project_id: Option<String>,
    /// Who connected; its handlers act as this principal.
    pub(crate) principal: Principal,
    /// `/mobile`: the handshake's `auth.offset`, the last event id the client saw.
    pub(crate) resume_from: Option<String>,
    /// The token the socket authenticated with, re-checked on every inbound event
    /// ([`current_principal`]); `None` when it gave none (the local user).
    pub(crate) credential: Option<Credential>,
}

/// A socket's bearer token, kept to re-check it; never printed.
#[derive(Clone)]
pub(crate) struct Credential(String);

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

/// How often a namespace's sockets are checked for credentials that expired.
const EXPIRY_SWEEP: Duration = Duration::from_millis(250);

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
        // A session that joins no namespace is closed soon (see `handshake`).
        .connect_timeout(CONNECT_TIMEOUT)
        .max_payload(state.config().body_limit as u64)
        // Room for a whole replay (`MAX_REPLAY` events) on top of live traffic.
        .max_buffer_size(maestro_domain::services::MAX_REPLAY + 128)
        .with_state(state.clone())
        .build_layer();
    io.ns("/ui", ui::connect.with(ui::auth));
    io.ns("/mobile", mobile::connect.with(mobile::auth));
    (layer, io)
}

/// Forwards every bus event to the Socket.IO rooms until the bus closes.
pub fn spawn_bridge(state: AppState, io: SocketIo) -> tokio::task::JoinHandle<()> {
    let mut events = state.services().ports().bus.subscribe();
    tokio::spawn(async move {
        while let Some(msg) = events.next().await {
            match msg {
                BusMessage::Event(e) => {
                    route(&state, &io, &e).await;
                    ::metrics::counter!(maestro_metrics::names::EVENTS_ROUTED, "event" => e.name())
                        .increment(1);
                }
                BusMessage::Lagged(n) => {
                    ::metrics::counter!(maestro_metrics::names::BUS_LAGGED_EVENTS).increment(n);
                    tracing::warn!(dropped = n, "Socket.IO bridge fell behind; events dropped");
                }
            }
        }
    })
}

async fn route(state: &AppState, io: &SocketIo, event: &BusEvent) {
    let now = state.services().context().now();
    let name = event.name();
    let envelope = event.event.envelope(now);
    // The log id goes as the second argument on both namespaces (desktop clients may drop
    // repeats by it; `/ui` spans every project, so it has no resume).
    let id = event.id.as_ref().map(ToString::to_string);
    let t = targets(event);
    if let Some(ui) = io.of("/ui") {
        let ops = match &t.ui {
            None => ui.broadcast(),
            Some(rooms) => ui.to(rooms.clone()),
        };
        if matches!(event.event, DomainEvent::SessionSpawn(_)) {
            // Secrets only to trusted local sockets (DEFECTS S3): emit one by one.
            let mut with_secrets = envelope.clone();
            crate::ws::add_secrets(state, &mut with_secrets["data"]);
            for s in ops.sockets() {
                let trusted = s.extensions.get::<SocketInfo>().is_some_and(|i| i.trusted);
                let frame = if trusted { &with_secrets } else { &envelope };
                let queued = match &id {
                    Some(id) => s.emit(name, &(frame, id)),
                    None => s.emit(name, frame),
                };
                if let Err(e) = queued {
                    tracing::debug!(error = %e, "could not queue event for a /ui socket");
                }
            }
        } else {
            let sent = match &id {
                Some(id) => ops.emit(name, &(&envelope, id)).await,
                None => ops.emit(name, &envelope).await,
            };
            if let Err(e) = sent {
                tracing::debug!(error = %e, event = name, "/ui emit failed");
            }
        }
    }
    if !t.mobile.is_empty()
        && let Some(mobile) = io.of("/mobile")
    {
        // A socket resuming on this project gets its replay before this event.
        let _gate = match event.project_id() {
            Some(p) => Some(state.0.shared.route_gate.lock(p).await),
            None => None,
        };
        // `/mobile` events carry their log id as a second argument (the envelope stays the
        // spec's), which is where Socket.IO clients keep a resume offset.
        let sent = match &id {
            Some(id) => mobile.to(t.mobile).emit(name, &(&envelope, id)).await,
            None => mobile.to(t.mobile).emit(name, &envelope).await,
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, event = name, "/mobile emit failed");
        }
    }
    if let DomainEvent::ProjectMembersChanged(change) = &event.event {
        mobile::revoke(state, io, change).await;
    }
    mobile::close_ended_credentials(io, &event.event);
}

/// Closes, every 250 ms, the `/mobile` sockets whose credential has expired (a
/// Supabase access token's `exp`): rights decided at the handshake never outlive the token.
pub fn spawn_expiry_sweeper(state: AppState, io: SocketIo) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_SWEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            mobile::close_expired(&io, state.services().context().now());
        }
    })
}

/// Authenticates a handshake: `auth.token`, else `Authorization`/`?token=` of the request,
/// by the same rule as every REST request ([`crate::security::resolve`]). Returns the
/// principal and the credential that proved it, for [`current_principal`].
pub(crate) async fn principal(
    state: &AppState,
    s: &SocketRef,
    auth: Option<&Value>,
) -> Result<(Principal, Option<Credential>), String> {
    let parts = s.req_parts();
    let token = auth
        .and_then(|a| a.get("token"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| bearer(&parts.headers, parts.uri.query()));
    let p = resolve(state, s, token.as_deref()).await?;
    Ok((p, token.map(Credential)))
}

async fn resolve(
    state: &AppState,
    s: &SocketRef,
    token: Option<&str>,
) -> Result<Principal, String> {
    let parts = s.req_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    crate::security::resolve(state, peer, &parts.headers, token)
        .await
        .map_err(|e| e.to_string())
}

/// The socket's principal, re-checked now by the rule of every REST request: a revoked key,
/// the token of an ended session or an expired access token no longer acts. A socket whose
/// credential fails is disconnected, and the error says why.
pub(crate) async fn current_principal(
    state: &AppState,
    s: &SocketRef,
) -> Result<Principal, String> {
    let info = s
        .extensions
        .get::<SocketInfo>()
        .ok_or("socket has no principal")?;
    let now = state.services().context().now();
    let checked = match &info.principal {
        Principal::User {
            expires_at: Some(exp),
            ..
        } if *exp <= now => Err("token expired".to_string()),
        _ => resolve(state, s, info.credential.as_ref().map(|c| c.0.as_str())).await,
    };
    match checked {
        Ok(p) if p == info.principal => Ok(p),
        Ok(_) => Err(end(s, "the credential now names another principal")),
        Err(e) => Err(end(s, &e)),
    }
}

/// Disconnects `s` because its credential no longer holds; the message for its ack.
fn end(s: &SocketRef, why: &str) -> String {
    close(s, why);
    format!("credential no longer valid: {why}")
}

/// Disconnects `s` because its rights ended (`why`, logged).
pub(crate) fn close(s: &SocketRef, why: &str) {
    tracing::info!(sid = %s.id, reason = why, "closing a socket whose rights ended");
    if let Err(e) = s.clone().disconnect() {
        tracing::debug!(error = %e, "could not disconnect a socket");
    }
}

/// A direct loopback connection (a tunnel connects from loopback too, with proxy headers).
pub(crate) fn is_loopback(s: &SocketRef) -> bool {
    s.req_parts()
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback())
        && !crate::security::is_proxied(&s.req_parts().headers)
}

/// Acknowledges a failure: `{success: false, error}`.
pub(crate) fn fail(ack: AckSender, message: impl std::fmt::Display) {
    let _ = ack.send(&json!({"success": false, "error": message.to_string()}));
}

/// The first argument of an event as an object (`[obj]` is unwrapped).
pub(crate) fn object_arg(d: Option<Value>) -> Option<Value> {
    match d {
        Some(Value::Object(o)) => Some(Value::Object(o)),
        Some(Value::Array(mut a)) if a.len() == 1 && a[0].is_object() => Some(a.remove(0)),
        _ => None,
    }
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
        project_members_changed: "project:members_changed", json!({"projectId": "P", "userId": "U", "action": "added", "role": "viewer", "timestamp": 1}), UNSCOPED, Some("P");
        project_api_key_revoked: "project:api_key_revoked", json!({"projectId": "P", "keyId": "K", "timestamp": 1}), UNSCOPED, Some("P");
        task_created: "task:created", task(), UNSCOPED, Some("P");
        task_updated: "task:updated", task(), UNSCOPED, Some("P");
        task_deleted: "task:deleted", json!({"id": "T", "projectId": "P"}), UNSCOPED, Some("P");
        task_session_added: "task:session_added", json!({"taskId": "T", "sessionId": "S", "projectId": "P"}), Some("S"), Some("P");
        task_session_removed: "task:session_removed", json!({"taskId": "T", "sessionId": "S", "projectId": "P"}), Some("S"), Some("P");
        task_claimed: "task:claimed", json!({"taskId": "T", "projectId": "P", "sessionId": "S", "fencingToken": 1, "expiresAt": 1, "renewed": false}), Some("S"), Some("P");
        task_claim_released: "task:claim_released", json!({"taskId": "T", "projectId": "P", "sessionId": "S", "reason": "released"}), Some("S"), Some("P");
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
}
