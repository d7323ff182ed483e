//! Resuming a `/mobile` stream: a client that reconnects with the last event id it saw
//! (handshake `auth.offset`, or `state:sync {since}`) gets exactly the events of its project
//! it missed, in order, or `resync_required` when the log no longer has them. Events carry
//! their id as the second argument of the Socket.IO event; `state:sync {since}` answers them
//! as envelopes with an `id` key.
//!
//! Handshake resume: the socket joins its project room only after its replay was emitted,
//! and both happen under the project's [`RouteGate`], which the bridge also holds while it
//! emits that project's events. So the socket sees the replay (every event up to the log's
//! newest when it was read), then live events; an event both in the replay and routed just
//! after it arrives twice, with the same id, and clients drop ids they have seen.

use maestro_domain::ports::{EventId, Gap, LoggedEvent, Replay};
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use crate::state::AppState;

/// Event a resuming socket gets when it must take a full `state:sync`.
pub const RESYNC_REQUIRED: &str = "resync_required";
/// Event that ends a handshake replay: `{since, replayed, lastEventId}`.
pub const RESUMED: &str = "state:resumed";

/// Per-project locks ordering replays against live routing.
pub type RouteGate = maestro_domain::services::KeyedLocks;

/// The newest id of a replay (`since` when it was empty).
pub fn last_id(events: &[LoggedEvent], since: &str) -> Value {
    events.last().map_or_else(|| json!(since), |e| json!(e.id))
}

/// The envelope of a replayed event (its time is the one its id records).
pub fn replayed(e: &LoggedEvent) -> Value {
    e.event.envelope(e.id.millis())
}

/// A replayed event as a `state:sync {since}` answer lists it: the envelope plus `id`.
pub fn listed(e: &LoggedEvent) -> Value {
    let mut env = replayed(e);
    env["id"] = json!(e.id);
    env
}

/// What the log says came after `since` in `project_id` (a bad id or no log is a gap).
pub async fn missed(state: &AppState, project_id: &str, since: &str) -> Result<Replay, String> {
    let Ok(since) = since.parse::<EventId>() else {
        return Ok(Replay::Gap(Gap::Unknown));
    };
    match state.event_stream() {
        Some(stream) => stream
            .replay(project_id, &since)
            .await
            .map_err(|e| e.to_string()),
        None => Ok(Replay::Gap(Gap::Unknown)),
    }
}

/// The `resync_required` payload. `since` is echoed only when it is an event id (at most a
/// few dozen characters); anything else a client sent comes back as `null`, never whole.
pub fn resync(reason: &str, since: &str) -> Value {
    let since = since.parse::<EventId>().is_ok().then_some(since);
    json!({"reason": reason, "since": since})
}

/// Handshake resume of socket `s` bound to `project_id`: replay, then join the project room.
pub(super) async fn resume(state: &AppState, s: &SocketRef, project_id: &str, since: &str) {
    let _gate = state.0.shared.route_gate.lock(project_id).await;
    match missed(state, project_id, since).await {
        Ok(Replay::Events(events)) => {
            for e in &events {
                if let Err(err) = s.emit(e.event.name(), &(replayed(e), e.id.to_string())) {
                    // The client cannot take its replay: it will reconnect and resume again.
                    tracing::debug!(error = %err, "replay did not fit a /mobile socket; disconnecting");
                    let _ = s.clone().disconnect();
                    return;
                }
            }
            let done = json!({"since": since, "replayed": events.len(),
                              "lastEventId": last_id(&events, since)});
            let _ = s.emit(RESUMED, &done);
        }
        Ok(Replay::Gap(gap)) => {
            let _ = s.emit(RESYNC_REQUIRED, &resync(gap.as_str(), since));
        }
        Err(e) => {
            tracing::warn!(error = %e, project = %project_id, "event log unreadable for a resume");
            let _ = s.emit(RESYNC_REQUIRED, &resync("unavailable", since));
        }
    }
    s.join(format!("project:{project_id}"));
}
