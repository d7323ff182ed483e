//! # maestro-http
//!
//! The HTTP edge of Maestro Server: every REST route of the original (API.md), the raw
//! WebSocket bridge (EVENTS.md §4), origin/auth checks and the OpenAPI document. Handlers are thin: parse, call a domain service, map the result.
//! Errors become HTTP responses in one place, [`error`].

pub mod answers;
pub mod cache;
pub mod conn;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limit;
pub mod metrics;
pub mod normalize;
pub mod openapi;
pub mod realtime;
pub mod request_id;
pub mod requests;
pub mod routes;
pub mod scope;
pub mod security;
pub mod session_token;
pub mod state;
pub mod token_auth;
pub mod web;
pub mod ws;

use std::future::Future;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use tower::Layer;
use tower::util::MapRequestLayer;

pub use error::ApiError;
pub use state::{
    AppState, AuthMode, ConnLimits, DEFAULT_BODY_LIMIT, HealthProbe, HttpConfig, SecurityConfig,
    SupabasePublic,
};
pub use token_auth::TokenAuth;

/// The router with every route, the origin/auth middleware and the raw WebSocket fallback.
pub fn router(state: AppState) -> Router {
    let limit = state.config().body_limit;
    let (socket_io, io) = realtime::layer(&state);
    let _ = state.0.shared.io.set(io);
    let _ = metrics::handle();
    routes::api()
        .into_router()
        // Per-route request counts and latencies (only matched routes have a template).
        .route_layer(axum::middleware::from_fn(metrics::track))
        // A write retried with the same `Idempotency-Key` is answered once (inside the
        // authentication, which it needs; outside the compression, so it keeps plain bodies).
        .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
        // API answers over 1 KB are gzipped for clients that accept it (a phone on a slow
        // link); the app's files are precompressed (web::serve), Socket.IO has its own.
        .layer(api_compression())
        // HTML for people, not an API operation: outside the route table and its document.
        .route(web::API_DOCS_PATH, axum::routing::get(web::api_docs))
        .route(web::MODAL_FRAME_PATH, axum::routing::get(web::modal_frame))
        // Prometheus text, not JSON: outside the route table too; the server's credential only.
        .route("/metrics", axum::routing::get(metrics::scrape))
        .fallback(fallback)
        .layer(socket_io)
        .layer(from_fn_with_state(
            state.clone(),
            realtime::limit_handshakes,
        ))
        // A known path with another method (e.g. `GET /api/sessions/spawn`, `POST
        // /api/sessions/:id`) is a JSON 404 like the original, not an empty 405, and still
        // accepts a WebSocket upgrade.
        .method_not_allowed_fallback(fallback)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(state::BodyLimit(limit)))
        .layer(from_fn_with_state(state.clone(), security::authenticate))
        .layer(from_fn_with_state(state.clone(), security::cors))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// Gzip for API answers of at least [`COMPRESS_FROM_BYTES`], except those the default rule of
/// `tower-http` leaves alone (images, gRPC, server-sent events).
fn api_compression() -> tower_http::compression::CompressionLayer<
    tower_http::compression::predicate::And<
        tower_http::compression::DefaultPredicate,
        tower_http::compression::predicate::SizeAbove,
    >,
> {
    use tower_http::compression::predicate::{Predicate as _, SizeAbove};
    tower_http::compression::CompressionLayer::new().compress_when(
        tower_http::compression::DefaultPredicate::new().and(SizeAbove::new(COMPRESS_FROM_BYTES)),
    )
}

/// Smallest API answer worth compressing.
pub const COMPRESS_FROM_BYTES: u16 = 1024;

/// WebSocket upgrades on any other path go to the raw bridge (which needs a verified
/// principal); `GET`/`HEAD` outside `/api` serve the web app; anything else unmatched is a
/// JSON 404.
async fn fallback(
    State(state): State<AppState>,
    trusted: ws::TrustedLocal,
    principal: Option<axum::Extension<maestro_domain::ports::Principal>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    method: Method,
    req: Request,
) -> Response {
    let path = req.uri().path();
    match upgrade {
        Ok(ws) => ws::upgrade(State(state), trusted, principal, ws).await,
        Err(_)
            if (method == Method::GET || method == Method::HEAD)
                && !(path == "/api"
                    || path.starts_with("/api/")
                    || path.starts_with("/socket.io")) =>
        {
            let accept = req
                .headers()
                .get(axum::http::header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            web::serve(&state, path, accept)
        }
        Err(_) => ApiError::RouteNotFound {
            method: method.to_string(),
            path: path.to_string(),
        }
        .into_response(),
    }
}

/// Serves `state` on `listener` until `shutdown` resolves; then pending mail waits answer `[]`,
/// WebSocket and Socket.IO clients are closed and in-flight requests drain. The event bridge
/// to Socket.IO runs for as long as the server does. Connections are accepted by [`conn`],
/// which enforces the [`ConnLimits`] of the configuration.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let services = state.services().clone();
    let bridge_state = state.clone();
    let limits = state.config().security.limits;
    let evicted = state.0.shared.evicted_slow_clients.clone();
    let app = MapRequestLayer::new(normalize::normalize::<axum::body::Body>).layer(router(state));
    let bridge = bridge_state.0.shared.io.get().cloned().map(|io| {
        (
            realtime::spawn_bridge(bridge_state.clone(), io.clone()),
            realtime::spawn_expiry_sweeper(bridge_state.clone(), io),
        )
    });
    let io = bridge_state.0.shared.io.get().cloned();
    let claims = bridge_state
        .claims()
        .cloned()
        .map(|c| spawn_claim_watcher(&bridge_state, c));
    let result = conn::serve(listener, app, limits, evicted, async move {
        shutdown.await;
        services.begin_shutdown();
        // Readiness now says `draining`; keep accepting for the grace so that it is seen.
        tokio::time::sleep(limits.drain_grace).await;
        // Upgraded connections are not drained by the HTTP server: close them.
        if let Some(io) = io {
            io.close().await;
        }
    })
    .await;
    if let Some((bridge, sweeper)) = bridge {
        bridge.abort();
        sweeper.abort();
    }
    if let Some(c) = claims {
        c.abort();
    }
    result
}

/// Releases the claims of sessions that end (completed, failed — a lapsed presence fails the
/// session —, stopped, deleted), from this instance's bus subscription. On several instances
/// each sees the event; the claim's atomic clear lets exactly one of them emit
/// `task:claim_released`.
fn spawn_claim_watcher(
    state: &AppState,
    claims: maestro_domain::services::ClaimService,
) -> tokio::task::JoinHandle<()> {
    use futures_util::StreamExt;
    let mut events = state.services().ports().bus.subscribe();
    tokio::spawn(async move {
        while let Some(msg) = events.next().await {
            match msg {
                maestro_domain::ports::BusMessage::Event(e) => {
                    if let Err(err) = claims.on_event(&e).await {
                        tracing::warn!(event = e.name(), error = %err, "could not release claims");
                    }
                }
                maestro_domain::ports::BusMessage::Lagged(n) => {
                    tracing::warn!(dropped = n, "claim watcher fell behind; events dropped");
                }
            }
        }
    })
}
