//! Origin allow-list, CORS headers and authentication (DEFECTS S1, S2).
//!
//! - A request carrying an `Origin` that is not allowed is refused with 403 before it reaches
//!   a handler (so a web page cannot drive the API, not just read it). Requests without an
//!   `Origin` (the CLI, agents) pass. The literal origin `null` is allowed only on the modal
//!   action/close routes, which the desktop webview's sandboxed iframe calls.
//! - When authentication is required, every route but `/health` and CORS preflights needs a
//!   credential the `Auth` port accepts: `Authorization: Bearer <token>` or `?token=` (for
//!   WebSocket clients, which cannot set headers).

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maestro_domain::ports::Principal;

use crate::error::ApiError;
use crate::state::AppState;

const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, PATCH, OPTIONS";
const ALLOW_HEADERS: &str = "Content-Type, Authorization, X-Requested-With";
const EXPOSE_HEADERS: &str = "Content-Length, X-Request-Id";

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

fn cors_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Origin check and CORS for every request.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let allowed = origin
        .to_str()
        .is_ok_and(|o| origin_allowed(&state, o, req.uri().path()));
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
        cors_headers(h, &origin);
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
    cors_headers(res.headers_mut(), &origin);
    res
}

/// The bearer token of a request: `Authorization: Bearer …`, else `?token=…`.
pub(crate) fn bearer(req_headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = req_headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim().to_string());
        }
    }
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| percent_decode(v))
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

/// Authenticates the caller and stores the [`Principal`] in the request extensions.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // Socket.IO authenticates in its namespace middleware (token in the handshake `auth`).
    let exempt =
        path == "/health" || path.starts_with("/socket.io") || req.method() == Method::OPTIONS;
    let token = bearer(req.headers(), req.uri().query());
    let principal = if state.config().require_auth && !exempt {
        match state.auth().authenticate(token.as_deref()).await {
            Ok(p) => p,
            Err(rejection) => {
                return ApiError::Domain(rejection.into()).into_response();
            }
        }
    } else {
        match token {
            Some(t) => state
                .auth()
                .authenticate(Some(&t))
                .await
                .unwrap_or(Principal::Local),
            None => Principal::Local,
        }
    };
    req.extensions_mut().insert(principal);
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
