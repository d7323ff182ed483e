//! `/ui`: the desktop app's namespace. Every project's events (room `ui:all`) until a socket
//! narrows itself to some sessions with `subscribe`; `unsubscribe` and `ping` as on the raw
//! bridge. Only unrestricted principals (the local user, the API token) may connect.

use maestro_domain::ports::Principal;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use super::{SocketInfo, UI_ALL, current_principal, fail, is_loopback, principal};
use crate::state::AppState;

/// `/ui` handshake: a credential when auth is required.
pub(super) async fn auth(
    s: SocketRef,
    TryData(auth): TryData<Value>,
    State(state): State<AppState>,
) -> Result<(), String> {
    let (p, credential) = principal(&state, &s, auth.ok().as_ref()).await?;
    if !p.is_unrestricted() {
        // `/ui` carries every project's events: the desktop app's namespace only.
        return Err("/ui is for the desktop app; signed-in users connect to /mobile".into());
    }
    let trusted = is_loopback(&s) && matches!(p, Principal::Local | Principal::Service);
    s.extensions.insert(SocketInfo {
        trusted,
        project_id: None,
        principal: p,
        resume_from: None,
        credential,
    });
    attach(&s);
    Ok(())
}

/// Joins the rooms and registers the handlers. Called by the handshake, before CONNECT is
/// sent: socketioxide runs the connect handler on a spawned task *after* CONNECT and drops
/// events that have no handler yet, so an event the client emits at once (the web app's
/// `state:sync`) or one broadcast meanwhile could otherwise be lost.
fn attach(s: &SocketRef) {
    s.join(UI_ALL);
    s.on("subscribe", subscribe);
    s.on("unsubscribe", unsubscribe);
    s.on("ping", ping);
}

/// Everything is set up by the handshake ([`attach`]); this only records the connection.
pub(super) async fn connect(s: SocketRef) {
    tracing::debug!(sid = %s.id, "/ui socket connected");
}

async fn subscribe(
    s: SocketRef,
    TryData(d): TryData<Value>,
    ack: AckSender,
    State(st): State<AppState>,
) {
    if let Err(e) = current_principal(&st, &s).await {
        return fail(ack, e);
    }
    let ids = crate::requests::session_ids(d.ok().as_ref());
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

async fn unsubscribe(s: SocketRef, ack: AckSender, State(st): State<AppState>) {
    if let Err(e) = current_principal(&st, &s).await {
        return fail(ack, e);
    }
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

async fn ping(s: SocketRef, ack: AckSender, State(st): State<AppState>) {
    if let Err(e) = current_principal(&st, &s).await {
        return fail(ack, e);
    }
    let reply = json!({"timestamp": st.services().context().now()});
    let _ = s.emit("pong", &reply);
    let _ = ack.send(&reply);
}
