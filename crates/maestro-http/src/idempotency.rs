//! `Idempotency-Key` on writes (the IETF httpapi draft "The Idempotency-Key HTTP Header
//! Field"): a client that sends a `POST`, `PUT`, `PATCH` or `DELETE` again with the same key
//! — the phone's queued offline changes, a script retrying after a timeout — gets the first
//! answer again, marked `Idempotent-Replayed: true`, and the write happens once.
//!
//! - A key is scoped to its caller (principal), method and path, so two callers' keys never
//!   meet; it is 1–255 visible ASCII characters, else `400`.
//! - The same key with another body: `422`. The same key while its first request still runs:
//!   `409` (retry later).
//! - Answers below 500 are kept for 24 hours; a `5xx` frees the key, so a retry runs again.
//! - A request whose client goes away (a phone losing its signal) still runs to its end and
//!   its answer is kept, so the retry gets it.
//! - Without the header, nothing changes. Kept in the [`IdempotencyStore`] the server wires
//!   (Redis across instances, process memory otherwise); without one the header is ignored.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maestro_domain::DomainError;
use maestro_domain::ports::{Claim, IdempotencyStore, Principal, RecordedResponse};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::{AppState, BodyLimit, DEFAULT_BODY_LIMIT};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a running request holds its key (a server that died frees it then).
const RUNNING: Duration = Duration::from_secs(60);
/// How long an answer is replayed.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// Largest answer kept (write answers are small JSON); a larger one frees its key.
const MAX_KEPT: usize = 1024 * 1024;

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let (Some(raw), Some(store)) = (req.headers().get(HEADER), state.idempotency()) else {
        return next.run(req).await;
    };
    if !write {
        return next.run(req).await;
    }
    let key = match valid_key(raw) {
        Ok(k) => k,
        Err(e) => return ApiError::Domain(e).into_response(),
    };
    // Public routes run without a principal; they decide themselves.
    let Some(principal) = req.extensions().get::<Principal>() else {
        return next.run(req).await;
    };
    let scoped = digest(&[
        caller(principal).as_bytes(),
        req.method().as_str().as_bytes(),
        req.uri().path().as_bytes(),
        key.as_bytes(),
    ]);
    let (parts, body) = req.into_parts();
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::TooLarge { limit }.into_response();
    };
    let query = parts.uri.query().unwrap_or("");
    let fingerprint = digest(&[query.as_bytes(), &bytes]);
    match store.claim(&scoped, &fingerprint, RUNNING).await {
        Err(e) => return ApiError::Domain(e).into_response(),
        Ok(Claim::Claimed) => {}
        Ok(Claim::Done {
            fingerprint: fp,
            response,
        }) if fp == fingerprint => return replay(response),
        Ok(Claim::InProgress { fingerprint: fp }) if fp == fingerprint => {
            return ApiError::Domain(DomainError::Conflict(
                "A request with this Idempotency-Key is still running; retry it later".into(),
            ))
            .into_response();
        }
        Ok(_) => {
            return ApiError::Domain(DomainError::BusinessRule(
                "This Idempotency-Key was used for another request; use a new key".into(),
            ))
            .into_response();
        }
    }
    // The write and the recording of its answer run to the end even when the client goes
    // away meanwhile (a phone losing its signal): its retry then gets the answer instead of
    // `409` until the claim lapses, and never a second run of a write that happened.
    let store = Arc::clone(store);
    let run = tokio::spawn(async move {
        let res = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        record(store.as_ref(), &scoped, &fingerprint, res).await
    });
    match run.await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "a write under an Idempotency-Key did not finish");
            ApiError::Domain(DomainError::Internal("the request did not finish".into()))
                .into_response()
        }
    }
}

/// Keeps the answer (below 500) for [`KEEP`], or frees the key; returns the answer.
async fn record(
    store: &dyn IdempotencyStore,
    key: &str,
    fingerprint: &str,
    res: Response,
) -> Response {
    let release = |why: &'static str| async move {
        if let Err(e) = store.release(key).await {
            tracing::warn!(error = %e, why, "could not free an idempotency key");
        }
    };
    if res.status().is_server_error() {
        release("server error").await;
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = match to_bytes(body, MAX_KEPT).await {
        Ok(b) => b,
        Err(e) => {
            release("answer too large to keep").await;
            tracing::warn!(error = %e, "an answer under an Idempotency-Key could not be read");
            return ApiError::Domain(DomainError::Internal(
                "the answer could not be recorded".into(),
            ))
            .into_response();
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        release("answer not text").await;
        return Response::from_parts(parts, Body::from(bytes));
    };
    let recorded = RecordedResponse {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: text.to_string(),
    };
    if let Err(e) = store.complete(key, fingerprint, &recorded, KEEP).await {
        // The write happened and is answered; only a retry would run it again.
        tracing::warn!(error = %e, "could not record an answer under its Idempotency-Key");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(r: RecordedResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut res = (status, r.body).into_response();
    let h = res.headers_mut();
    if let Some(ct) = r.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_TYPE, ct);
    }
    h.insert(REPLAYED, HeaderValue::from_static("true"));
    res
}

fn valid_key(raw: &HeaderValue) -> Result<String, DomainError> {
    let bad = || {
        DomainError::invalid_field(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    };
    let s = raw.to_str().map_err(|_| bad())?;
    // The draft's form is a quoted string; a bare token is accepted too.
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(s.to_string())
}

/// Who the key belongs to: keys of different callers never meet.
fn caller(p: &Principal) -> String {
    match p {
        Principal::Local => "local".into(),
        Principal::Service => "service".into(),
        Principal::User { id, .. } => format!("user:{id}"),
        Principal::Session { session_id, .. } => format!("session:{session_id}"),
        Principal::ApiKey { key_id, .. } => format!("key:{key_id}"),
    }
}

/// Hex SHA-256 of the parts, each length-prefixed (so no two part lists collide).
fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        let ok = |s: &str| valid_key(&HeaderValue::from_str(s).unwrap());
        assert_eq!(ok("abc-123").unwrap(), "abc-123");
        assert_eq!(ok("\"8e03978e-40d5-43e8\"").unwrap(), "8e03978e-40d5-43e8");
        assert!(ok("").is_err());
        assert!(ok("\"\"").is_err());
        assert!(ok("has space").is_err());
        assert!(ok(&"k".repeat(256)).is_err());
        assert!(ok(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn digests_do_not_run_parts_together() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"x"]).len(), 64);
    }

    #[test]
    fn callers_are_told_apart() {
        let user = Principal::User {
            id: "u1".into(),
            email: None,
            access_token: maestro_domain::ports::AccessToken("t".into()),
            expires_at: None,
        };
        let session = Principal::Session {
            session_id: "u1".into(),
            project_id: "p".into(),
        };
        assert_ne!(caller(&user), caller(&session));
        assert_ne!(caller(&Principal::Local), caller(&Principal::Service));
    }
}
