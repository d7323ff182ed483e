//! [`TokenAuth`]: the `Auth` adapter of one optional server-wide API token (`MAESTRO_API_TOKEN`),
//! beside the edge's principal rule (`security::resolve`) that uses it.

use std::fmt;

use async_trait::async_trait;
use maestro_domain::ports::{Auth, AuthRejection, Principal};

/// [`Auth`] by a single shared API token (`API_TOKEN`), with no user accounts.
///
/// - No token configured (`None`, or an empty string): every call is [`Principal::Local`],
///   whatever bearer it carries. Restricting that mode to loopback callers is the HTTP edge's
///   job.
/// - A token configured: no bearer (or a blank one) is [`AuthRejection::Missing`], a different
///   one is [`AuthRejection::Invalid`], the configured one (compared in constant time) is
///   [`Principal::Service`].
#[derive(Clone)]
pub struct TokenAuth {
    token: Option<String>,
}

impl TokenAuth {
    pub fn new(token: Option<String>) -> Self {
        let token = token.filter(|t| !t.is_empty());
        if token.is_none() {
            tracing::debug!("no API token configured: every caller is the local user");
        }
        Self { token }
    }

    /// Whether a token is required.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }
}

impl fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAuth")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[async_trait]
impl Auth for TokenAuth {
    async fn authenticate<'a>(
        &self,
        bearer: Option<&'a str>,
    ) -> std::result::Result<Principal, AuthRejection> {
        let Some(expected) = &self.token else {
            return Ok(Principal::Local);
        };
        let Some(given) = bearer.filter(|b| !b.trim().is_empty()) else {
            return Err(AuthRejection::Missing);
        };
        if maestro_domain::secret::constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            Ok(Principal::Service)
        } else {
            Err(AuthRejection::Invalid("unknown API token".to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_token_everybody_is_local() {
        for auth in [TokenAuth::new(None), TokenAuth::new(Some(String::new()))] {
            assert!(!auth.requires_token());
            assert_eq!(auth.authenticate(None).await, Ok(Principal::Local));
            assert_eq!(
                auth.authenticate(Some("anything")).await,
                Ok(Principal::Local)
            );
        }
    }

    #[tokio::test]
    async fn with_a_token_only_it_is_accepted() {
        let auth = TokenAuth::new(Some("tok".into()));
        assert_eq!(auth.authenticate(Some("tok")).await, Ok(Principal::Service));
        assert_eq!(auth.authenticate(None).await, Err(AuthRejection::Missing));
        assert_eq!(
            auth.authenticate(Some("  ")).await,
            Err(AuthRejection::Missing)
        );
        assert!(matches!(
            auth.authenticate(Some("tok ")).await,
            Err(AuthRejection::Invalid(_))
        ));
    }

    #[test]
    fn debug_hides_the_token() {
        let auth = TokenAuth::new(Some("hunter2".into()));
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
