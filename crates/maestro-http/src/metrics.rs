//! Prometheus metrics at `GET /metrics` (text exposition format), recorded with the `metrics`
//! facade and rendered by `metrics-exporter-prometheus` (no listener of its own: the route is
//! served by this router, behind the same authentication as everything else, and only to an
//! unrestricted caller — the server token, or the local user when auth is off).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `maestro_http_requests_total` | counter | `route` (template), `method`, `status` (`2xx`…) |
//! | `maestro_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `maestro_events_routed_total` | counter | `event`: events the Socket.IO bridge delivered |
//! | `maestro_bus_lagged_events_total` | counter | events the bridge lost to lag |
//! | `maestro_auth_failures_total` | counter | refused credentials |
//! | `maestro_auth_rate_limited_total` | counter | requests refused by the failure limiter |
//! | `maestro_websocket_connections` | gauge | raw WebSocket clients |
//! | `maestro_socketio_connections` | gauge | `namespace` (`/ui`, `/mobile`) |
//! | `maestro_evicted_slow_clients` | gauge | clients disconnected for not reading |

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maestro_domain::ports::Principal;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::state::AppState;

/// Latency buckets (seconds): 0.5 ms … 10 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use (`None`, logged, if another recorder was
/// installed first).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics is empty");
                    None
                }
            }
        })
        .as_ref()
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
        "maestro_http_requests_total",
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "maestro_http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics`: the exposition text, for the server's own credential only.
pub async fn scrape(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
) -> Response {
    match principal.as_deref() {
        Some(p) if p.is_unrestricted() => {}
        Some(_) => {
            return ApiError::Domain(maestro_domain::DomainError::Forbidden(
                "metrics are for the server's own credential".into(),
            ))
            .into_response();
        }
        None => {
            return ApiError::Domain(maestro_domain::ports::AuthRejection::Missing.into())
                .into_response();
        }
    }
    let Some(h) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable\n",
        )
            .into_response();
    };
    metrics::gauge!("maestro_websocket_connections").set(st.ws_clients() as f64);
    for ns in ["/ui", "/mobile"] {
        metrics::gauge!("maestro_socketio_connections", "namespace" => ns)
            .set(st.socket_io_clients(ns) as f64);
    }
    metrics::gauge!("maestro_evicted_slow_clients").set(st.evicted_slow_clients() as f64);
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
