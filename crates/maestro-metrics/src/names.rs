//! Every metric the server records. Counters end in `_total`, durations are in seconds.
//!
//! | metric | type | labels | recorded by |
//! |---|---|---|---|
//! | `maestro_http_requests_total` | counter | `route` (template), `method`, `status` (`2xx`…) | the HTTP edge |
//! | `maestro_http_request_duration_seconds` | histogram | `route`, `method` | the HTTP edge |
//! | `maestro_repo_operation_duration_seconds` | histogram | `adapter`, `repo`, `op`, `result` (`ok`/`err`) | [`metered_repositories`](crate::metered_repositories) |
//! | `maestro_events_published_total` | counter | `event` | [`MeteredBus`](crate::MeteredBus) |
//! | `maestro_events_routed_total` | counter | `event`: events the Socket.IO bridge delivered | the HTTP edge |
//! | `maestro_bus_lagged_events_total` | counter | events the bridge lost to lag | the HTTP edge |
//! | `maestro_presence_heartbeats_total` | counter | | [`MeteredPresence`](crate::MeteredPresence) |
//! | `maestro_presence_expirations_total` | counter | sessions this instance saw lapse | [`MeteredPresence`](crate::MeteredPresence) |
//! | `maestro_claims_total` | counter | `outcome`: `granted`, `renewed`, `refused`, `released` | [`MeteredLock`](crate::MeteredLock) |
//! | `maestro_claims_held` | gauge | live task claims, **cluster-wide** (do not sum over instances) | the HTTP edge, at scrape |
//! | `maestro_mail_waits_pending` | gauge | long-polls waiting for mail on this instance | the HTTP edge, at scrape |
//! | `maestro_auth_failures_total` | counter | refused credentials | the HTTP edge |
//! | `maestro_auth_rate_limited_total` | counter | requests refused by the failure limiter | the HTTP edge |
//! | `maestro_socketio_handshakes_refused_total` | counter | new Socket.IO sessions refused: too many pending | the HTTP edge |
//! | `maestro_websocket_connections` | gauge | raw WebSocket clients | the HTTP edge, at scrape |
//! | `maestro_socketio_connections` | gauge | `namespace` (`/ui`, `/mobile`) | the HTTP edge, at scrape |
//! | `maestro_evicted_slow_clients` | gauge | clients disconnected for not reading | the HTTP edge, at scrape |
//! | `maestro_backend_reconnects_total` | counter | `backend` (`redis`, `postgrest`): times a backend answered again after it could not be reached | the server's collectors, at scrape |

pub const HTTP_REQUESTS: &str = "maestro_http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "maestro_http_request_duration_seconds";
pub const REPO_OPERATION_DURATION: &str = "maestro_repo_operation_duration_seconds";
pub const EVENTS_PUBLISHED: &str = "maestro_events_published_total";
pub const EVENTS_ROUTED: &str = "maestro_events_routed_total";
pub const BUS_LAGGED_EVENTS: &str = "maestro_bus_lagged_events_total";
pub const PRESENCE_HEARTBEATS: &str = "maestro_presence_heartbeats_total";
pub const PRESENCE_EXPIRATIONS: &str = "maestro_presence_expirations_total";
pub const CLAIMS: &str = "maestro_claims_total";
pub const CLAIMS_HELD: &str = "maestro_claims_held";
pub const MAIL_WAITS_PENDING: &str = "maestro_mail_waits_pending";
pub const AUTH_FAILURES: &str = "maestro_auth_failures_total";
pub const AUTH_RATE_LIMITED: &str = "maestro_auth_rate_limited_total";
pub const HANDSHAKES_REFUSED: &str = "maestro_socketio_handshakes_refused_total";
pub const WEBSOCKET_CONNECTIONS: &str = "maestro_websocket_connections";
pub const SOCKETIO_CONNECTIONS: &str = "maestro_socketio_connections";
pub const EVICTED_SLOW_CLIENTS: &str = "maestro_evicted_slow_clients";
pub const BACKEND_RECONNECTS: &str = "maestro_backend_reconnects_total";
