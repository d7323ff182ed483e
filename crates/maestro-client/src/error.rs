//! The client's one error type.

use serde_json::Value;

/// What can go wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status and (usually) the spec's error body
    /// `{error, statusCode, code, message, details?}`.
    #[error("{}: {} {}: {}", .0.route, .0.status, .0.code, .0.message)]
    Api(Box<ApiFailure>),
    /// The request did not get an answer (connection refused, reset, timed out).
    #[error("{route}: cannot reach the server: {source}")]
    Network {
        route: String,
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer whose body is not what the route returns.
    #[error("{route}: unexpected response body: {message}")]
    Decode { route: String, message: String },
    /// The client was configured wrongly (bad base URL, unusable token).
    #[error("client configuration: {0}")]
    Config(String),
    /// The Socket.IO connection failed or was refused.
    #[error("socket: {0}")]
    Socket(String),
}

/// An error answer of the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    /// `METHOD /path/{template}` of the request.
    pub route: String,
    pub status: u16,
    /// The server's machine-readable `code` (`NOT_FOUND`, `VALIDATION_ERROR`, …), or
    /// `HTTP_<status>` when the body had none.
    pub code: String,
    pub message: String,
    /// Field errors of a validation failure, when the server gave them.
    pub details: Option<Value>,
    /// The whole body as received (`Value::Null` when it was not JSON).
    pub body: Value,
}

impl ClientError {
    /// The server's answer, for an [`ClientError::Api`] error.
    pub fn api(&self) -> Option<&ApiFailure> {
        match self {
            ClientError::Api(f) => Some(f),
            _ => None,
        }
    }

    /// The HTTP status of an [`ClientError::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api(f) => Some(f.status),
            _ => None,
        }
    }

    /// The server's error `code` of an [`ClientError::Api`] error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api(f) => Some(&f.code),
            _ => None,
        }
    }

    /// Worth retrying an idempotent request after this: a network error or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Network { .. } => true,
            ClientError::Api(f) => f.status >= 500,
            _ => false,
        }
    }

    /// The server still runs an earlier attempt sent with the same `Idempotency-Key`.
    pub(crate) fn is_key_in_use(&self) -> bool {
        matches!(self, ClientError::Api(f) if f.status == 409 && f.message.contains("Idempotency-Key"))
    }

    pub(crate) fn from_response(route: String, status: u16, bytes: &[u8]) -> Self {
        let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let code = text("code").unwrap_or_else(|| format!("HTTP_{status}"));
        let message = text("message")
            .or_else(|| text("error"))
            .unwrap_or_else(|| {
                String::from_utf8_lossy(bytes)
                    .trim()
                    .chars()
                    .take(200)
                    .collect()
            });
        ClientError::Api(Box::new(ApiFailure {
            route,
            status,
            code,
            message,
            details: body.get("details").cloned(),
            body,
        }))
    }
}
