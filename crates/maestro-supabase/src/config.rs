//! [`SupabaseConfig`]: the project URL and keys, read from `SUPABASE_*` variables.

use crate::client::PostgrestClient;
use crate::storage::SupabaseStorage;

/// A bad or missing setting; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Where a Supabase project is and the keys to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct SupabaseConfig {
    /// `https://<ref>.supabase.co` (no trailing slash).
    pub url: String,
    pub anon_key: String,
    pub service_role_key: String,
}

impl std::fmt::Debug for SupabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseConfig")
            .field("url", &self.url)
            .field("anon_key", &"<redacted>")
            .field("service_role_key", &"<redacted>")
            .finish()
    }
}

fn looks_like_jwt(s: &str) -> bool {
    s.split('.').count() == 3 || s.starts_with("sb_")
}

impl SupabaseConfig {
    /// From `SUPABASE_URL`, `SUPABASE_SERVICE_ROLE_KEY` and `SUPABASE_ANON_KEY`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`SupabaseConfig::from_env`] with another source of variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let need = |variable: &'static str| -> Result<String, ConfigError> {
            match get(variable).map(|v| v.trim().to_owned()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(ConfigError {
                    variable,
                    problem: "is required when SUPABASE_ENABLED=true".into(),
                }),
            }
        };
        let url = need("SUPABASE_URL")?.trim_end_matches('/').to_owned();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
            return Err(ConfigError {
                variable: "SUPABASE_URL",
                problem: format!(
                    "must be an http(s) URL like https://<ref>.supabase.co, got '{url}'"
                ),
            });
        }
        let service_role_key = need("SUPABASE_SERVICE_ROLE_KEY")?;
        if !looks_like_jwt(&service_role_key) {
            return Err(ConfigError {
                variable: "SUPABASE_SERVICE_ROLE_KEY",
                problem: "is not a Supabase key (expected a JWT or an sb_secret_… key)".into(),
            });
        }
        let anon_key = need("SUPABASE_ANON_KEY")?;
        if !looks_like_jwt(&anon_key) {
            return Err(ConfigError {
                variable: "SUPABASE_ANON_KEY",
                problem: "is not a Supabase key (expected a JWT or an sb_publishable_… key)".into(),
            });
        }
        Ok(Self {
            url,
            anon_key,
            service_role_key,
        })
    }

    /// `<url>/rest/v1`.
    pub fn rest_url(&self) -> String {
        format!("{}/rest/v1", self.url)
    }

    /// `<url>/storage/v1`.
    pub fn storage_url(&self) -> String {
        format!("{}/storage/v1", self.url)
    }

    /// A PostgREST client with the service-role key (server work, RLS bypassed).
    pub fn service_client(&self) -> PostgrestClient {
        PostgrestClient::service(&self.rest_url(), &self.service_role_key)
    }

    /// A PostgREST client acting for the user of `user_jwt` (RLS applies).
    pub fn user_client(&self, user_jwt: &str) -> PostgrestClient {
        PostgrestClient::for_user(&self.rest_url(), &self.anon_key, user_jwt)
    }

    /// The Storage bucket `bucket` with the service-role key.
    pub fn storage(&self, bucket: &str) -> SupabaseStorage {
        SupabaseStorage::service(&self.storage_url(), &self.service_role_key, bucket)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn names_the_bad_variable() {
        let err = SupabaseConfig::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err.variable, "SUPABASE_URL");
        let err = SupabaseConfig::from_lookup(lookup(&[("SUPABASE_URL", "ftp://x")])).unwrap_err();
        assert_eq!(err.variable, "SUPABASE_URL");
        let err =
            SupabaseConfig::from_lookup(lookup(&[("SUPABASE_URL", "https://abc.supabase.co")]))
                .unwrap_err();
        assert_eq!(err.variable, "SUPABASE_SERVICE_ROLE_KEY");
        let err = SupabaseConfig::from_lookup(lookup(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_SERVICE_ROLE_KEY", "a.b.c"),
            ("SUPABASE_ANON_KEY", "nope"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "SUPABASE_ANON_KEY");
        assert!(err.to_string().starts_with("SUPABASE_ANON_KEY: "));
    }

    #[test]
    fn builds_the_urls() {
        let c = SupabaseConfig::from_lookup(lookup(&[
            ("SUPABASE_URL", "https://abc.supabase.co/"),
            ("SUPABASE_SERVICE_ROLE_KEY", "a.b.c"),
            ("SUPABASE_ANON_KEY", "sb_publishable_x"),
        ]))
        .unwrap();
        assert_eq!(c.rest_url(), "https://abc.supabase.co/rest/v1");
        assert_eq!(c.storage_url(), "https://abc.supabase.co/storage/v1");
        assert!(!format!("{c:?}").contains("a.b.c"));
    }
}
