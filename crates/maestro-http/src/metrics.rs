//! Prometheus metrics at `GET /metrics` (text exposition format): the HTTP edge's own metrics
//! (per-route requests and latencies, auth failures, connections, events routed), the gauges
//! read at scrape time (claims held, mail waits pending, connections), what the server's
//! [`MetricsCollector`]s add (backend reconnects), and everything the port decorators of
//! `maestro-metrics` record. The catalogue of names is [`maestro_metrics::names`].
//!
//! Two ways to reach it:
//! - on the main listener, behind the same authentication as everything else, for an
//!   unrestricted caller only (the server token, or the local user when auth is off);
//! - on a listener of its own ([`serve_metrics`], `METRICS_ADDR`), bound to loopback, without
//!   authentication, for a Prometheus on the same machine.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maestro_domain::ports::Principal;
use maestro_metrics::names;

use crate::error::ApiError;
use crate::state::AppState;

pub use maestro_metrics::recorder::handle;

/// Something that sets metrics of its own right before each scrape (e.g. an adapter's
/// reconnect count, with `counter!(…).absolute(n)`). Must answer quickly.
#[async_trait::async_trait]
pub trait MetricsCollector: Send + Sync {
    async fn collect(&self);
}

/// Route layer: counts each matched request by route template, method and status class, and
/// times it.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = format!("{}xx", res.status().as_u16() / 100);
    metrics::counter!(
        names::HTTP_REQUESTS,
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        names::HTTP_REQUEST_DURATION,
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics` on the main listener: the exposition text, for the server's own
/// credential only.
pub async fn scrape(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
) -> Response {
    match principal.as_deref() {
        Some(p) if p.is_unrestricted() => render(&st).await,
        Some(_) => ApiError::Domain(maestro_domain::DomainError::Forbidden(
            "metrics are for the server's own credential".into(),
        ))
        .into_response(),
        None => {
            ApiError::Domain(maestro_domain::ports::AuthRejection::Missing.into()).into_response()
        }
    }
}

/// Reads the scrape-time gauges, runs the collectors and renders everything.
async fn render(st: &AppState) -> Response {
    let Some(h) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable\n",
        )
            .into_response();
    };
    metrics::gauge!(names::WEBSOCKET_CONNECTIONS).set(st.ws_clients() as f64);
    for ns in ["/ui", "/mobile"] {
        metrics::gauge!(names::SOCKETIO_CONNECTIONS, "namespace" => ns)
            .set(st.socket_io_clients(ns) as f64);
    }
    metrics::gauge!(names::EVICTED_SLOW_CLIENTS).set(st.evicted_slow_clients() as f64);
    metrics::gauge!(names::MAIL_WAITS_PENDING).set(st.services().pending_mail_waits() as f64);
    if let Some(claims) = st.claims() {
        let counted = tokio::time::timeout(std::time::Duration::from_secs(2), claims.held()).await;
        match counted {
            Ok(Ok(n)) => metrics::gauge!(names::CLAIMS_HELD).set(n as f64),
            // The last value stays; the lock's own failure shows in /health/ready.
            Ok(Err(e)) => tracing::debug!(error = %e, "claims held not counted"),
            Err(_) => tracing::debug!("claims held not counted: the lock did not answer in 2 s"),
        }
    }
    for c in st.metrics_collectors() {
        c.collect().await;
    }
    h.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        h.render(),
    )
        .into_response()
}

/// Serves `GET /metrics` alone, without authentication, on `listener` (the server refuses a
/// `METRICS_ADDR` that is not a loopback address) until `shutdown` resolves. Anything else
/// is a 404.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _ = handle();
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(st): State<AppState>| async move { render(&st).await }),
        )
        .layer(axum::middleware::from_fn(loopback_host_only))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The metrics listener answers only a loopback `Host` (`localhost`, `127.0.0.1`, `[::1]`,
/// with any port): a web page that rebinds a name of its own to 127.0.0.1 sends its own
/// name, and gets `421` instead of the metrics.
async fn loopback_host_only(req: Request, next: Next) -> Response {
    let loopback = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(crate::security::host_name)
        .is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    if loopback {
        next.run(req).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "the metrics listener answers Host: localhost or a loopback address only\n",
        )
            .into_response()
    }
}

/// A collector from a closure (for adapters' plain counters).
pub struct FnCollector<F>(pub F);

#[async_trait::async_trait]
impl<F: Fn() + Send + Sync> MetricsCollector for FnCollector<F> {
    async fn collect(&self) {
        (self.0)();
    }
}

/// Boxes a closure as a collector.
pub fn collector(f: impl Fn() + Send + Sync + 'static) -> Arc<dyn MetricsCollector> {
    Arc::new(FnCollector(f))
}
