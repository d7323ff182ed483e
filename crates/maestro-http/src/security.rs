//! Origin allow-list, CORS headers and authentication (DEFECTS S1, S2).
//!
//! - A request carrying an `Origin` that is not allowed is refused with 403 before it reaches
//!   a handler (so a web page cannot drive the API, not just read it). Requests without an
//!   `Origin` (the CLI, agents) pass. The literal origin `null` is allowed only on the modal
//!   action/close routes, which the desktop webview's sandboxed iframe calls.
//! - The `Host` header must name this server (DNS-rebinding defence), else `421`.
//! - Every request but the public ones (health, client configuration, the web app's files,
//!   CORS preflights, the Socket.IO endpoint) needs a verified [`Principal`]: a credential the
//!   `Auth` port accepts (`Authorization: Bearer <token>`, scheme case-insensitive, or
//!   `?token=` for WebSocket clients), or — without configured auth — a direct loopback
//!   caller with no proxy headers. [`resolve`] is the one rule; Socket.IO calls it too.

use maestro_domain::services::ApiKeyService;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maestro_domain::ports::{AuthRejection, Principal};

use crate::session_token::SessionTokens;

use crate::error::ApiError;
use crate::state::{AppState, AuthMode};

const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, PATCH, OPTIONS";
const ALLOW_HEADERS: &str = "Content-Type, Authorization, X-Requested-With, Idempotency-Key";
const EXPOSE_HEADERS: &str = "Content-Length, X-Request-Id, Idempotent-Replayed";

/// Whether `path` is one of the two modal routes the webview iframe calls (origin `null`).
fn is_modal_callback(path: &str) -> bool {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(
        segs.as_slice(),
        ["api", "sessions", _, "modal", _, "actions" | "close"]
    )
}

/// Whether `origin` may call `path`.
pub(crate) fn origin_allowed(state: &AppState, origin: &str, path: &str) -> bool {
    if origin == "null" {
        return is_modal_callback(path);
    }
    let cfg = state.config();
    cfg.allow_any_origin
        || cfg
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
}

/// CORS response headers. With `CORS_ORIGINS=*` the answer is the wildcard and never
/// `Access-Control-Allow-Credentials` (browsers then send no cookies; bearer tokens still work).
fn cors_headers(headers: &mut HeaderMap, origin: &HeaderValue, any: bool) {
    if any {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Whether `origin` (`scheme://authority`) names the authority of `host` (its `Host` header).
fn same_origin(origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
    let (Ok(origin), Some(Ok(host))) = (origin.to_str(), host.map(HeaderValue::to_str)) else {
        return false;
    };
    origin.split_once("://").is_some_and(|(scheme, authority)| {
        matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
    })
}

/// Origin check and CORS for every request.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    // The app's own pages call the server they came from: an origin naming the very host the
    // request is addressed to is not cross-origin (the Host itself is checked for every
    // request, DNS rebinding included), so any Host the server accepts serves a working app.
    if same_origin(&origin, req.headers().get(header::HOST)) {
        return next.run(req).await;
    }
    let allowed = origin
        .to_str()
        .is_ok_and(|o| origin_allowed(&state, o, req.uri().path()));
    // An origin on the explicit list keeps credentials even when `*` is configured too.
    let wildcard = state.config().allow_any_origin
        && !origin.to_str().is_ok_and(|o| {
            state
                .config()
                .allowed_origins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(o))
        });
    if !allowed {
        return ApiError::Forbidden(format!(
            "Origin {} is not allowed (configure CORS_ORIGINS)",
            origin.to_str().unwrap_or("<invalid>")
        ))
        .into_response();
    }
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut res = StatusCode::NO_CONTENT.into_response();
        let h = res.headers_mut();
        cors_headers(h, &origin, wildcard);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return res;
    }
    let mut res = next.run(req).await;
    cors_headers(res.headers_mut(), &origin, wildcard);
    res
}

/// Headers a reverse proxy or tunnel adds. A request carrying any of them did not come from a
/// local program directly, whatever its peer address says.
pub const PROXY_HEADERS: [&str; 6] = [
    "cf-connecting-ip",
    "cf-ray",
    "x-forwarded-for",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
];

/// Whether `headers` carry any of the [`PROXY_HEADERS`].
pub fn is_proxied(headers: &HeaderMap) -> bool {
    PROXY_HEADERS.iter().any(|h| headers.contains_key(*h))
}

/// The client address a request is accounted to: the peer, or — only when the peer is one of
/// `TRUSTED_PROXIES` — the address the proxy reports (`CF-Connecting-IP`, `X-Real-IP`, else
/// the last `X-Forwarded-For` hop that is not itself a trusted proxy).
pub fn client_ip(
    state: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = peer?.ip();
    let proxies = &state.config().security.trusted_proxies;
    let trusted = |ip: &IpAddr| proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let header_ip = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    };
    if let Some(ip) = header_ip("cf-connecting-ip").or_else(|| header_ip("x-real-ip")) {
        return Some(ip);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer),
    )
}

/// Whether the `Host` a request names is one this server answers to (DNS-rebinding defence):
/// `localhost`, loopback addresses, the configured `HOST`, the hosts of `SERVER_URL` and
/// `EXTERNAL_URL`, `ALLOWED_HOSTS`, and — when `HOST` is the unspecified address, so the
/// server listens on every interface — any IP literal (a rebinding attack needs a name). A
/// request without `Host` (HTTP/1.0 tools) is not from a browser and passes.
pub fn host_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(raw) = headers.get(header::HOST) else {
        return true;
    };
    let Ok(raw) = raw.to_str() else {
        return false;
    };
    let host = host_name(raw);
    if host.is_empty() {
        return false;
    }
    if host == "localhost" {
        return true;
    }
    let cfg = &state.config().security;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback() || cfg.any_ip_host || cfg.allowed_hosts.contains(&host);
    }
    cfg.allowed_hosts.contains(&host)
}

/// `Host` without its port, lower-cased, IPv6 brackets removed.
pub fn host_name(raw: &str) -> String {
    let raw = raw.trim();
    let host = if let Some(rest) = raw.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match raw.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => raw,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The bearer token of a request: `Authorization: Bearer …` (scheme case-insensitive, RFC
/// 7235), else `?token=…` (for WebSocket clients, which cannot set headers).
pub(crate) fn bearer(req_headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = req_headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, token)) = v.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        let token = token.trim();
        if !token.is_empty() {
            return Some(token.to_string());
        }
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| percent_decode(v))
        .filter(|t| !t.is_empty())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `req` may be served without a principal: `/health…`, the public client
/// configuration, the API reference page (static HTML: the document it shows is fetched with
/// a credential), CORS preflights, the Socket.IO endpoint itself (which authenticates in its
/// namespace middleware) and the web app's files (plain `GET`/`HEAD` outside `/api`, never a
/// WebSocket upgrade).
fn is_public(req: &Request) -> bool {
    let path = req.uri().path();
    let method = req.method();
    if *method == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return true;
    }
    if path == SOCKET_IO_PATH || path == &SOCKET_IO_PATH[..SOCKET_IO_PATH.len() - 1] {
        return true;
    }
    let read = *method == Method::GET || *method == Method::HEAD;
    if !read || req.headers().contains_key(header::UPGRADE) {
        return false;
    }
    path == "/health"
        || path.starts_with("/health/")
        || path == crate::web::CLIENT_CONFIG_PATH
        || path == crate::web::API_DOCS_PATH
        || !(path == "/api" || path.starts_with("/api/") || path.starts_with("/socket.io"))
}

/// The Engine.IO endpoint (socketioxide's default request path, with its trailing slash).
pub const SOCKET_IO_PATH: &str = "/socket.io/";

/// Resolves the caller of one request or handshake — the single rule every channel (REST,
/// raw WebSocket, Socket.IO) applies:
///
/// 1. A presented token must verify; a bad or expired one is `401` (never more access than
///    no token). A session token (`mst1.…`, [`SessionTokens`]) is checked by this server's key
///    and works only while its session exists and has not ended; any other token goes to the
///    `Auth` adapter. Failed tokens are rate-limited per client address (`429` +
///    retry-after); a valid token, or a genuine one of an ended session, never is.
/// 2. Without a token: `401` unless the configuration trusts loopback callers (no auth, or
///    Supabase without an API token); then the caller is the unrestricted local user only if
///    the peer is a loopback address *and* the request carries no proxy header (a tunnel
///    connects from loopback too); else `403`, naming the settings to change.
pub async fn resolve(
    state: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Principal, ApiError> {
    let cfg = &state.config().security;
    if let Some(token) = token {
        let verified = if SessionTokens::is_session_token(token) {
            session_principal(state, token).await?
        } else if ApiKeyService::is_api_key(token) {
            api_key_principal(state, token).await?
        } else {
            state.auth().authenticate(Some(token)).await
        };
        return match verified {
            Ok(p) if p != Principal::Local => Ok(p),
            // An auth adapter without credentials (no token configured) answers `Local` for
            // anything: the token proved nothing, so the local rule below applies.
            Ok(_) => local_only(state, peer, headers),
            Err(rejection) => {
                let ip = client_ip(state, peer, headers);
                // A genuine session token of an ended session is no guess: not rate-limited.
                let genuine = SessionTokens::is_session_token(token)
                    && state.session_tokens().verify(token).is_some();
                if let Some(ip) = ip
                    && !genuine
                    && let Err(retry) = state.0.shared.auth_failures.fail(ip, token)
                {
                    ::metrics::counter!(maestro_metrics::names::AUTH_RATE_LIMITED).increment(1);
                    tracing::warn!(client = %ip, "authentication failures rate-limited");
                    return Err(ApiError::RateLimited {
                        message: "too many failed authentication attempts; retry later".into(),
                        retry_after: retry,
                    });
                }
                ::metrics::counter!(maestro_metrics::names::AUTH_FAILURES).increment(1);
                tracing::debug!(client = ?ip, "authentication failed");
                Err(ApiError::Domain(rejection.into()))
            }
        };
    }
    if cfg.trust_loopback {
        local_only(state, peer, headers)
    } else {
        Err(ApiError::Domain(AuthRejection::Missing.into()))
    }
}

/// The agent a session token names, while its session exists and has not ended (a store
/// failure is an error of its own, never a rejection of the token).
async fn session_principal(
    state: &AppState,
    token: &str,
) -> Result<Result<Principal, AuthRejection>, ApiError> {
    let Some((session_id, project_id)) = state.session_tokens().verify(token) else {
        return Ok(Err(AuthRejection::Invalid("unknown session token".into())));
    };
    let session = state.services().ports().sessions.get(&session_id).await?;
    Ok(match session {
        Some(s) if s.project_id == project_id && !s.status.is_terminal() => {
            Ok(Principal::Session {
                session_id,
                project_id,
            })
        }
        Some(s) if s.project_id == project_id => Err(AuthRejection::Invalid(format!(
            "session '{session_id}' has ended ({}); its token no longer works",
            s.status
        ))),
        _ => Err(AuthRejection::Invalid(format!(
            "session '{session_id}' no longer exists; its token no longer works"
        ))),
    })
}

/// The agent a project API key stands for, while the key exists (a store failure is an error
/// of its own, never a rejection of the key).
async fn api_key_principal(
    state: &AppState,
    token: &str,
) -> Result<Result<Principal, AuthRejection>, ApiError> {
    let Some(keys) = state.api_keys() else {
        return Ok(Err(AuthRejection::Invalid(
            "this server keeps no API keys".into(),
        )));
    };
    Ok(match keys.verify(token).await? {
        Some(key) => Ok(Principal::ApiKey {
            key_id: key.id,
            project_id: key.project_id,
            team_member_id: key.team_member_id,
        }),
        None => Err(AuthRejection::Invalid("unknown or revoked API key".into())),
    })
}

/// The local user, for a direct loopback caller only.
fn local_only(
    state: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    if is_proxied(headers) {
        if !state
            .0
            .shared
            .proxy_warned
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                "refused a proxied request without authentication: this server is reachable \
                 through a proxy or tunnel; set MAESTRO_API_TOKEN (and EXTERNAL_URL to the \
                 public URL)"
            );
        }
        return Err(ApiError::Forbidden(
            "this request came through a proxy or tunnel, and the server has no \
             authentication: set MAESTRO_API_TOKEN (and EXTERNAL_URL) to expose it"
                .into(),
        ));
    }
    match peer {
        Some(p) if p.ip().is_loopback() => Ok(Principal::Local),
        _ => Err(ApiError::Forbidden(
            "without MAESTRO_API_TOKEN only local (loopback) clients are served".into(),
        )),
    }
}

/// Host check and authentication of every request; the verified [`Principal`] is stored in
/// the request extensions. Public requests (`is_public`) pass without one; every other
/// handler requires it, so "no verified principal" always means no access.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !host_allowed(&state, req.headers()) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("<invalid>")
            .to_string();
        return ApiError::MisdirectedHost(host).into_response();
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let public = is_public(&req);
    let token = bearer(req.headers(), req.uri().query());
    let principal = match resolve(&state, peer, req.headers(), token.as_deref()).await {
        Ok(p) => Some(p),
        // Public requests pass without a principal — except that without any auth a proxied
        // request is refused everywhere, so nothing is served to the internet by accident.
        Err(_)
            if public
                && !(state.config().security.auth_mode == AuthMode::None
                    && is_proxied(req.headers())) =>
        {
            None
        }
        Err(e) => return e.into_response(),
    };
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modal_callbacks_are_recognised() {
        assert!(is_modal_callback("/api/sessions/s1/modal/m1/actions"));
        assert!(is_modal_callback("/api/sessions/s1/modal/m1/close"));
        assert!(!is_modal_callback("/api/sessions/s1/modal"));
        assert!(!is_modal_callback("/api/tasks"));
    }

    #[test]
    fn bearer_from_header_or_query() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h, Some("a=1&token=abc%20d")), Some("abc d".into()));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(bearer(&h, None), Some("xyz".into()));
    }
}
