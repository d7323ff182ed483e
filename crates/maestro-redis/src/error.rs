//! The crate's one error type, and its mapping into [`DomainError`] at the port boundary.

use maestro_domain::DomainError;

/// Everything the Redis adapters can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL or another setting is unusable.
    #[error("invalid Redis configuration: {0}")]
    Config(String),

    /// Redis refused or failed a command, or the connection is down (fred's error kept as
    /// the source).
    #[error("Redis {context}: {source}")]
    Command {
        context: &'static str,
        #[source]
        source: fred::error::Error,
    },

    /// A record in Redis does not decode (written by something else, or corrupted).
    #[error("corrupt Redis record '{key}': {reason}")]
    Corrupt { key: String, reason: String },

    /// The operating system's random number generator failed (lock tokens, origin ids).
    #[error("random number generator unavailable: {0}")]
    Random(String),
}

impl RedisError {
    /// Wraps a fred error with what was being done.
    pub(crate) fn command(context: &'static str) -> impl FnOnce(fred::error::Error) -> Self {
        move |source| Self::Command { context, source }
    }

    pub(crate) fn corrupt(key: impl Into<String>, reason: impl ToString) -> Self {
        Self::Corrupt {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

/// Backend trouble is `Unavailable` (503: retry later); a record that does not decode is
/// `Internal` (500: retrying will not help).
impl From<RedisError> for DomainError {
    fn from(e: RedisError) -> Self {
        match e {
            RedisError::Corrupt { .. } => DomainError::Internal(e.to_string()),
            RedisError::Config(_) | RedisError::Command { .. } | RedisError::Random(_) => {
                DomainError::Unavailable(e.to_string())
            }
        }
    }
}

/// The crate's result type.
pub type Result<T, E = RedisError> = std::result::Result<T, E>;

/// 128 random bits as 32 hex chars (lock tokens, bus origin ids).
pub(crate) fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| RedisError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_are_unavailable_and_corruption_is_internal() {
        let down = RedisError::Command {
            context: "GET",
            source: fred::error::Error::new(fred::error::ErrorKind::IO, "connection closed"),
        };
        assert!(
            matches!(DomainError::from(down), DomainError::Unavailable(m) if m.contains("GET"))
        );
        let bad = RedisError::corrupt("maestro:mail:m1", "expected JSON");
        assert!(matches!(DomainError::from(bad), DomainError::Internal(_)));
    }

    #[test]
    fn random_hex_is_128_bits() {
        let a = random_hex().unwrap_or_default();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_hex().unwrap_or_default());
    }
}
