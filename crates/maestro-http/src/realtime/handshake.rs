//! Bounds on Socket.IO handshakes that no credential has proven yet.
//!
//! A Socket.IO client opens an Engine.IO session with a plain `GET /socket.io/?EIO=4&…`
//! (no `sid`) and proves who it is only afterwards, in its namespace CONNECT packet. So every
//! such request makes the server keep a session, with its buffers and timers, for anybody.
//! socketioxide keeps each one until the client joins a namespace or [`CONNECT_TIMEOUT`]
//! passes (then it closes it and frees it); it has no cap of its own, and since keep-alive
//! clients reuse one connection, `MAX_CONNECTIONS` does not bound them either.
//!
//! [`HandshakeLimiter`] counts the new sessions opened in the last [`CONNECT_TIMEOUT`], per
//! client address and in total, which bounds the sessions that can be pending at once; past
//! either cap a new handshake gets `429` (with `Retry-After`) and no session. A client that
//! has joined a namespace no longer needs a new session, so a legitimate phone is limited
//! only while it is reconnecting in a storm.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// How long an Engine.IO session may stay without joining a namespace (socketioxide's
/// `connect_timeout`); also the window the limiter counts handshakes in.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// New sessions one client address may open per [`CONNECT_TIMEOUT`].
pub const MAX_PENDING_PER_CLIENT: usize = 256;
/// New sessions all clients together may open per [`CONNECT_TIMEOUT`].
pub const MAX_PENDING_TOTAL: usize = 2048;

/// Counts recent handshakes per client address and in total.
#[derive(Debug)]
pub struct HandshakeLimiter {
    window: Duration,
    per_client: usize,
    total: usize,
    recent: Mutex<Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    /// Times of the handshakes in the window, oldest first, with their client.
    all: VecDeque<(Instant, Option<IpAddr>)>,
    /// Handshakes in the window per client (entries removed at zero).
    by_client: HashMap<IpAddr, usize>,
}

impl Default for HandshakeLimiter {
    fn default() -> Self {
        Self::new(CONNECT_TIMEOUT, MAX_PENDING_PER_CLIENT, MAX_PENDING_TOTAL)
    }
}

impl HandshakeLimiter {
    pub fn new(window: Duration, per_client: usize, total: usize) -> Self {
        Self {
            window,
            per_client,
            total,
            recent: Mutex::new(Recent::default()),
        }
    }

    /// Admits one new handshake of `client` at `now`, or says how long to wait.
    pub fn admit(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut r = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(&(at, ip)) = r.all.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            r.all.pop_front();
            if let Some(ip) = ip
                && let Some(n) = r.by_client.get_mut(&ip)
            {
                *n -= 1;
                if *n == 0 {
                    r.by_client.remove(&ip);
                }
            }
        }
        let retry = |r: &Recent| {
            r.all
                .front()
                .map_or(self.window, |(at, _)| self.window - now.duration_since(*at))
        };
        if r.all.len() >= self.total {
            return Err(retry(&r));
        }
        if let Some(ip) = client
            && r.by_client.get(&ip).copied().unwrap_or(0) >= self.per_client
        {
            // The client's oldest handshake may be later than the oldest overall: waiting
            // for the whole window is the simple, safe answer.
            return Err(self.window);
        }
        r.all.push_back((now, client));
        if let Some(ip) = client {
            *r.by_client.entry(ip).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// Middleware: a request that would open a new Engine.IO session (`/socket.io/` without
/// `sid`) must be admitted by the state's [`HandshakeLimiter`].
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_new_session(&req) {
        let peer = req
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        let client = crate::security::client_ip(&state, peer, req.headers());
        if let Err(retry) = state.0.shared.handshakes.admit(client, Instant::now()) {
            ::metrics::counter!(maestro_metrics::names::HANDSHAKES_REFUSED).increment(1);
            tracing::debug!(client = ?client, "Socket.IO handshake refused: too many pending");
            return ApiError::RateLimited {
                message: "too many Socket.IO handshakes pending; retry later".into(),
                retry_after: retry,
            }
            .into_response();
        }
    }
    next.run(req).await
}

fn is_new_session(req: &Request) -> bool {
    let path = req.uri().path();
    (path == "/socket.io/" || path == "/socket.io")
        && !req
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .any(|kv| kv.starts_with("sid="))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3)));

    #[test]
    fn caps_each_client_and_the_total_within_the_window() {
        let l = HandshakeLimiter::new(Duration::from_secs(10), 2, 3);
        let t0 = Instant::now();
        assert!(l.admit(A, t0).is_ok());
        assert!(l.admit(A, t0).is_ok());
        assert_eq!(l.admit(A, t0), Err(Duration::from_secs(10)), "per client");
        assert!(l.admit(B, t0).is_ok());
        assert!(l.admit(B, t0).is_err(), "total");
        // Once the window has passed, the old handshakes no longer count.
        let later = t0 + Duration::from_secs(10);
        assert!(l.admit(A, later).is_ok());
        assert!(l.admit(A, later).is_ok());
        assert!(l.admit(B, later).is_ok());
        assert!(l.admit(B, later).is_err());
    }

    #[test]
    fn says_when_the_oldest_handshake_leaves_the_window() {
        let l = HandshakeLimiter::new(Duration::from_secs(10), 10, 1);
        let t0 = Instant::now();
        assert!(l.admit(None, t0).is_ok());
        assert_eq!(
            l.admit(None, t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
    }

    #[test]
    fn only_requests_without_a_session_id_open_a_session() {
        let req = |uri: &str| {
            Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert!(is_new_session(&req("/socket.io/?EIO=4&transport=polling")));
        assert!(is_new_session(&req(
            "/socket.io/?EIO=4&transport=websocket"
        )));
        assert!(!is_new_session(&req(
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        )));
        assert!(!is_new_session(&req("/api/tasks")));
    }
}
