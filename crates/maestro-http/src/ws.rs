//! Raw WebSocket bridge for the original desktop app and CLI (EVENTS.md §4).
//!
//! Accepted on any path of the server's port. Each connection subscribes to the event bus
//! directly, so an event is queued for every open client before the request that caused it
//! answers. Routing uses the explicit per-event table of EVENTS.md §4.4 (DEFECTS C20).
//! Ping frames every 30 s drop dead peers; a client that cannot take a frame within 10 s is
//! disconnected (bounded queues, DEFECTS O3).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use maestro_domain::DomainEvent;
use maestro_domain::ports::{BusMessage, Principal};
use serde_json::{Value, json};

use crate::state::AppState;

const PING_EVERY: Duration = Duration::from_secs(30);
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the caller is on this machine and authenticated (or auth is off): only such a
/// connection gets provider secrets in `session:spawn` (DEFECTS S3).
#[derive(Debug, Clone, Copy)]
pub struct TrustedLocal(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for TrustedLocal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // A tunnel connects from loopback too: proxied requests are never local.
        let loopback = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| c.0.ip().is_loopback())
            && !crate::security::is_proxied(&parts.headers);
        let trusted = matches!(
            parts.extensions.get::<Principal>(),
            Some(Principal::Local | Principal::Service)
        );
        Ok(TrustedLocal(loopback && trusted))
    }
}

/// Upgrade handler. The raw bridge carries every event of every project, so it is open only
/// to the local user and server credentials; signed-in users use Socket.IO `/mobile`. A
/// request without a verified principal is refused (`401`).
pub async fn upgrade(
    State(state): State<AppState>,
    TrustedLocal(trusted): TrustedLocal,
    principal: Option<axum::Extension<Principal>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(axum::Extension(principal)) = principal else {
        return crate::error::ApiError::Domain(maestro_domain::DomainError::Unauthorized(
            "authentication required".into(),
        ))
        .into_response();
    };
    if !principal.is_unrestricted() {
        return crate::error::ApiError::Forbidden(
            "the raw WebSocket is for the desktop app; signed-in users connect to Socket.IO /mobile".into(),
        )
        .into_response();
    }
    ws.on_upgrade(move |socket| serve(socket, state, trusted))
}

/// Whether a client with `filter` gets `event` (EVENTS.md §4.3 rules 1 and 3, §4.4 keys).
pub fn routes_to(event: &DomainEvent, filter: Option<&HashSet<String>>) -> bool {
    match (event.session_id(), filter) {
        (_, None) | (None, _) => true,
        (Some(id), Some(set)) => set.contains(id),
    }
}

/// The frame sent for an event; secrets added for trusted local clients.
pub(crate) fn frame(state: &AppState, event: &DomainEvent, trusted: bool, now: i64) -> Value {
    let mut env = event.envelope(now);
    if trusted && let DomainEvent::SessionSpawn(_) = event {
        add_secrets(state, &mut env["data"]);
    }
    env
}

/// Adds the server's provider keys and the session's own token
/// ([`crate::session_token::ENV_VAR`]) to `data.envVars` of a `session:spawn` payload.
pub(crate) fn add_secrets(state: &AppState, data: &mut Value) {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let session_id = text(data.get("session").and_then(|s| s.get("id")));
    let project_id = text(data.get("projectId"));
    let token = session_id
        .zip(project_id)
        .and_then(|(s, p)| state.session_tokens().mint(&s, &p));
    if let Some(vars) = data.get_mut("envVars").and_then(Value::as_object_mut) {
        for (k, v) in &state.config().spawn_secrets {
            vars.insert(k.clone(), Value::String(v.clone()));
        }
        if let Some(token) = token {
            vars.insert(
                crate::session_token::ENV_VAR.to_string(),
                Value::String(token),
            );
        }
    }
}

async fn serve(socket: WebSocket, state: AppState, trusted: bool) {
    let registry = &state.0.shared.ws;
    registry.open.fetch_add(1, Ordering::SeqCst);
    let mut events = state.services().ports().bus.subscribe();
    let (mut tx, mut rx) = socket.split();
    let mut filter: Option<HashSet<String>> = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut alive = true;
    let mut shutdown = state.services().context().shutdown_signal();
    let clock = state.services().ports().clock.clone();
    loop {
        let outgoing: Option<Value> = tokio::select! {
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    alive = true;
                    reply(&text, &mut filter, clock.now_ms())
                }
                Some(Ok(Message::Pong(_) | Message::Ping(_) | Message::Binary(_))) => {
                    alive = true;
                    None
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
            next = events.next() => match next {
                Some(BusMessage::Event(e)) if routes_to(&e, filter.as_ref()) => {
                    Some(frame(&state, &e, trusted, clock.now_ms()))
                }
                Some(BusMessage::Event(_)) => None,
                Some(BusMessage::Lagged(n)) => {
                    tracing::warn!(dropped = n, "raw WebSocket client fell behind; events dropped");
                    None
                }
                None => break,
            },
            _ = shutdown.changed() => break,
            _ = ping.tick() => {
                if !alive {
                    tracing::debug!("raw WebSocket client missed a ping; closing");
                    break;
                }
                alive = false;
                if tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Ping(Vec::new().into()))).await.is_err() {
                    break;
                }
                None
            }
        };
        if let Some(v) = outgoing {
            let sent =
                tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Text(v.to_string().into())))
                    .await;
            if !matches!(sent, Ok(Ok(()))) {
                break;
            }
        }
    }
    // A client that stopped reading must not hold this task (and its socket) forever.
    let _ = tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Close(None))).await;
    registry.open.fetch_sub(1, Ordering::SeqCst);
}

/// Handles a client frame: `ping`, `subscribe`, `unsubscribe`; anything else is ignored.
fn reply(text: &str, filter: &mut Option<HashSet<String>>, now: i64) -> Option<Value> {
    let msg: Value = serde_json::from_str(text).ok()?;
    match msg.get("type")?.as_str()? {
        "ping" => Some(json!({"type": "pong", "timestamp": now})),
        "subscribe" => {
            let ids: Vec<String> = msg
                .get("sessionIds")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            *filter = Some(ids.iter().cloned().collect());
            Some(json!({"type": "subscribed", "sessionIds": ids, "timestamp": now}))
        }
        "unsubscribe" => {
            *filter = None;
            Some(json!({"type": "unsubscribed", "timestamp": now}))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_replaces_filter_and_drops_non_strings() {
        let mut f = None;
        let r = reply(
            r#"{"type":"subscribe","sessionIds":["a",1,"b"]}"#,
            &mut f,
            5,
        )
        .unwrap();
        assert_eq!(r["sessionIds"], json!(["a", "b"]));
        assert_eq!(f.as_ref().unwrap().len(), 2);
        let r = reply(r#"{"type":"unsubscribe"}"#, &mut f, 6).unwrap();
        assert_eq!(r["type"], "unsubscribed");
        assert!(f.is_none());
        assert!(reply("not json", &mut f, 7).is_none());
        assert!(reply(r#"{"type":"subscribe","sessionIds":"x"}"#, &mut f, 7).is_none());
    }
}
