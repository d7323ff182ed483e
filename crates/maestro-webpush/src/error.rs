//! The crate's errors.

use std::path::PathBuf;

/// What can go wrong setting up or checking Web Push.
#[derive(Debug, thiserror::Error)]
pub enum WebPushError {
    /// An endpoint that may not be reached (SSRF guard), or is not a URL.
    #[error("{0}")]
    Endpoint(String),
    /// An entry of `PUSH_ENDPOINT_ALLOWLIST` that is not an origin.
    #[error("PUSH_ENDPOINT_ALLOWLIST entry {0:?} is not an origin such as http://127.0.0.1:9000")]
    Allowlist(String),
    /// A VAPID private key that is not 32 bytes of base64url, or not a valid P-256 scalar.
    #[error("VAPID private key: {0}")]
    Key(String),
    /// The VAPID key file could not be read or written.
    #[error("VAPID key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("push HTTP client: {0}")]
    Client(String),
}

impl From<WebPushError> for maestro_domain::DomainError {
    fn from(e: WebPushError) -> Self {
        match e {
            WebPushError::Endpoint(why) => {
                maestro_domain::DomainError::invalid_field("endpoint", why)
            }
            other => maestro_domain::DomainError::Internal(other.to_string()),
        }
    }
}
