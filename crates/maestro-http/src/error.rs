//! The one place where domain errors become HTTP responses (API.md §1.1).
//!
//! Every error body is E1-compatible: `{error: true, statusCode, code, message, details?}`.
//! Spawn errors keep their lowercase codes (E5); mail validation keeps the E3 messages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maestro_domain::error::SpawnErrorCode;
use maestro_domain::{DomainError, FieldError};
use serde_json::Value;

/// Which of the original's validation messages a schema error gets on mail routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Body,
    Params,
    Query,
}

impl Part {
    fn message(self) -> &'static str {
        match self {
            Part::Body => "Invalid request body",
            Part::Params => "Invalid URL parameters",
            Part::Query => "Invalid query parameters",
        }
    }
}

/// Errors of the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A request that could not be parsed at all (malformed JSON, wrong types, bad enum).
    #[error("{message}")]
    BadRequest {
        message: String,
        details: Vec<FieldError>,
    },
    /// Schema validation of a strict (mail) route, E3.
    #[error("{}", part.message())]
    Schema {
        part: Part,
        details: Vec<FieldError>,
    },
    #[error("request body too large (limit {limit} bytes)")]
    TooLarge { limit: usize },
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Forbidden(String),
    #[error("Route {method} {path} not found")]
    RouteNotFound { method: String, path: String },
    /// Too many failed attempts from one client; `Retry-After` tells when to try again.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The `Host` header names a host this server does not answer to (DNS rebinding).
    #[error("Host '{0}' is not served here; add it to ALLOWED_HOSTS (or SERVER_URL/EXTERNAL_URL)")]
    MisdirectedHost(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>, details: Vec<FieldError>) -> Self {
        Self::BadRequest {
            message: message.into(),
            details,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, Option<Value>) {
        let details = |d: &[FieldError]| {
            if d.is_empty() {
                None
            } else {
                serde_json::to_value(d).ok()
            }
        };
        match self {
            ApiError::Domain(e) => {
                let status = domain_status(e);
                let d = match e {
                    DomainError::Validation { details: d, .. } => details(d),
                    DomainError::Spawn { details, .. } => details.clone(),
                    DomainError::Claimed {
                        held_by,
                        expires_at,
                        ..
                    } => Some(serde_json::json!({"heldBy": held_by, "expiresAt": expires_at})),
                    _ => None,
                };
                (status, e.code(), d)
            }
            ApiError::BadRequest { details: d, .. } => {
                (StatusCode::BAD_REQUEST, "VALIDATION_ERROR", details(d))
            }
            ApiError::Schema { details: d, .. } => (
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                Some(serde_json::to_value(d).unwrap_or(Value::Null)),
            ),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", None),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                None,
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN", None),
            ApiError::RouteNotFound { .. } => (StatusCode::NOT_FOUND, "NOT_FOUND", None),
            ApiError::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", None)
            }
            ApiError::MisdirectedHost(_) => {
                (StatusCode::MISDIRECTED_REQUEST, "MISDIRECTED_REQUEST", None)
            }
        }
    }
}

/// The HTTP status of a domain error: the one place the domain's errors meet HTTP.
pub fn domain_status(e: &DomainError) -> StatusCode {
    match e {
        DomainError::NotFound { .. } | DomainError::Absent(_) => StatusCode::NOT_FOUND,
        DomainError::Validation { .. } => StatusCode::BAD_REQUEST,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        DomainError::BusinessRule(_) => StatusCode::UNPROCESSABLE_ENTITY,
        DomainError::Conflict(_) | DomainError::Claimed { .. } | DomainError::StaleFence { .. } => {
            StatusCode::CONFLICT
        }
        DomainError::Spawn { code, .. } => spawn_status(*code),
        DomainError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The status the original answers each spawn error with (API.md §6.1).
fn spawn_status(code: SpawnErrorCode) -> StatusCode {
    match code {
        SpawnErrorCode::ParentSessionNotFound
        | SpawnErrorCode::TaskNotFound
        | SpawnErrorCode::ProjectNotFound => StatusCode::NOT_FOUND,
        SpawnErrorCode::ManifestGenerationFailed | SpawnErrorCode::SpawnError => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details) = self.parts();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), error = %self, "request failed");
        }
        let body = crate::answers::ErrorBody {
            error: true,
            status_code: status.as_u16(),
            code: code.to_string(),
            message: self.to_string(),
            details,
        };
        let mut res = (status, axum::Json(body)).into_response();
        if let ApiError::RateLimited { retry_after, .. } = &self {
            let secs = retry_after.as_secs().max(1);
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
