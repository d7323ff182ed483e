//! Request ids: every request gets one — the client's `X-Request-Id` when it is a sane token
//! (1–128 of `A-Z a-z 0-9 . _ : -`), else a fresh random one — carried by the request's
//! tracing span (`request_id`), returned in the `X-Request-Id` response header, and added as
//! `requestId` to JSON error bodies when the client sent one (bodies otherwise stay exactly
//! the original's shapes).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Largest error body rewritten to carry the id (bigger ones pass unchanged).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The id of the request being served (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn acceptable(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn generate() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: a time-based id still tells requests apart in logs.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("t{nanos:x}");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The middleware (outermost, so that every answer — refusals, 404s — carries the id).
pub async fn layer(mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| acceptable(v))
        .map(str::to_string);
    let echo_in_body = given.is_some();
    let id = given.unwrap_or_else(generate);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = res.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request served"
        );
    });
    if echo_in_body && res.status().as_u16() >= 400 {
        res = with_id_in_body(res, &id).await;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

/// A JSON error body `{error: true, …}` with `requestId` added; anything else unchanged.
async fn with_id_in_body(res: Response, id: &str) -> Response {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        // Too large or failed to read: the body is gone, so say so plainly.
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let patched = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .filter(|v| v.get("error") == Some(&serde_json::Value::Bool(true)))
        .and_then(|mut v| {
            v["requestId"] = serde_json::json!(id);
            serde_json::to_vec(&v).ok()
        });
    match patched {
        Some(b) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(b))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_taken_from_the_client() {
        for ok in ["abc", "req-1.2_3:x", &"a".repeat(128)] {
            assert!(acceptable(ok), "{ok}");
        }
        for bad in ["", " ", "a b", "é", "<script>", &"a".repeat(129), "a\nb"] {
            assert!(!acceptable(bad), "{bad:?}");
        }
        let g = generate();
        assert!(acceptable(&g) && g.len() == 24, "{g}");
        assert_ne!(generate(), g);
    }
}
