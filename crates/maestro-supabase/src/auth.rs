//! [`SupabaseAuth`]: the `Auth` port for Supabase Auth access tokens.
//!
//! A bearer token is accepted as:
//! - the server's own API token (`MAESTRO_API_TOKEN`) → [`Principal::Service`];
//! - a Supabase JWT verified locally: ES256/RS256 against the project's JWKS
//!   (`/auth/v1/.well-known/jwks.json`, cached 10 minutes and re-fetched on an unknown `kid` at most every 30 s),
//!   or HS256 with the legacy JWT secret when one is configured. `exp` is enforced (no
//!   leeway beyond 30 s), `role: authenticated` with `aud` containing `authenticated` and a
//!   `sub` → [`Principal::User`]; `role: service_role` → [`Principal::Service`]; anything else
//!   (the anon key, other roles) is refused.
//!
//! Project access for a user is asked of PostgREST with the user's own token, so the answer is
//! exactly what row-level security allows (owner or member).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use maestro_domain::ports::{AccessToken, Auth, AuthRejection, Principal};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::RwLock;

/// How long a fetched JWKS is trusted before it is fetched again.
pub const JWKS_TTL: Duration = Duration::from_secs(600);
/// Least time between two key-set fetches caused by a token naming an unknown `kid`.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    role: Option<String>,
    email: Option<String>,
    #[serde(default)]
    aud: Option<Value>,
    iss: Option<String>,
    /// Seconds since the epoch (required and checked by the validation).
    exp: Option<u64>,
}

/// Verifies Supabase access tokens and answers project access through RLS.
pub struct SupabaseAuth {
    api_token: Option<String>,
    hs256_secret: Option<Vec<u8>>,
    jwks_url: String,
    issuer: Option<String>,
    http: reqwest::Client,
    jwks: RwLock<Option<(Instant, JwkSet)>>,
    /// Least time between two fetches caused by an unknown `kid`, so tokens naming made-up
    /// keys cannot make the server hammer the project's JWKS endpoint.
    refetch_interval: Duration,
}

impl std::fmt::Debug for SupabaseAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseAuth")
            .field("jwks_url", &self.jwks_url)
            .field("hs256", &self.hs256_secret.is_some())
            .finish_non_exhaustive()
    }
}

impl SupabaseAuth {
    /// `supabase_url` is `https://<ref>.supabase.co`; `jwt_secret` is the legacy HS256 secret,
    /// if the project still signs with it.
    pub fn new(supabase_url: &str, api_token: Option<String>, jwt_secret: Option<String>) -> Self {
        let base = supabase_url.trim_end_matches('/');
        Self {
            api_token: api_token.filter(|t| !t.is_empty()),
            hs256_secret: jwt_secret.filter(|s| !s.is_empty()).map(String::into_bytes),
            jwks_url: format!("{base}/auth/v1/.well-known/jwks.json"),
            issuer: Some(format!("{base}/auth/v1")),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            jwks: RwLock::new(None),
            refetch_interval: JWKS_REFETCH_INTERVAL,
        }
    }

    /// Sets the least time between two key-set fetches caused by an unknown `kid`
    /// (default [`JWKS_REFETCH_INTERVAL`]).
    #[must_use]
    pub fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Does not check `iss` even when present (self-hosted setups with other issuers).
    #[must_use]
    pub fn without_issuer_check(mut self) -> Self {
        self.issuer = None;
        self
    }

    async fn fetch_jwks(&self) -> std::result::Result<JwkSet, AuthRejection> {
        let set = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| AuthRejection::Invalid(format!("cannot fetch signing keys: {e}")))?
            .json::<JwkSet>()
            .await
            .map_err(|e| AuthRejection::Invalid(format!("bad signing keys: {e}")))?;
        *self.jwks.write().await = Some((Instant::now(), set.clone()));
        Ok(set)
    }

    /// The key `kid` from the cached key set; the set is fetched again when it is older than
    /// [`JWKS_TTL`], or when it lacks `kid` (a rotation) and was fetched more than
    /// `refetch_interval` ago.
    async fn key_for(&self, kid: &str) -> std::result::Result<DecodingKey, AuthRejection> {
        let unknown = || AuthRejection::Invalid(format!("unknown signing key '{kid}'"));
        let cached = self.jwks.read().await.clone();
        let jwk = match &cached {
            Some((at, set)) if at.elapsed() < JWKS_TTL => match set.find(kid) {
                Some(jwk) => jwk.clone(),
                None if at.elapsed() < self.refetch_interval => return Err(unknown()),
                None => self
                    .fetch_jwks()
                    .await?
                    .find(kid)
                    .cloned()
                    .ok_or_else(unknown)?,
            },
            _ => self
                .fetch_jwks()
                .await?
                .find(kid)
                .cloned()
                .ok_or_else(unknown)?,
        };
        DecodingKey::from_jwk(&jwk).map_err(|e| AuthRejection::Invalid(e.to_string()))
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.validate_aud = false;
        v.leeway = 30;
        v.set_required_spec_claims(&["exp"]);
        v
    }

    async fn verify(&self, token: &str) -> std::result::Result<Principal, AuthRejection> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthRejection::Invalid("not a JWT".into()))?;
        let key = match header.alg {
            Algorithm::HS256 => match &self.hs256_secret {
                Some(secret) => DecodingKey::from_secret(secret),
                None => {
                    return Err(AuthRejection::Invalid(
                        "HS256 tokens need SUPABASE_JWT_SECRET".into(),
                    ));
                }
            },
            Algorithm::ES256 | Algorithm::RS256 => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| AuthRejection::Invalid("token has no kid".into()))?;
                self.key_for(kid).await?
            }
            other => {
                return Err(AuthRejection::Invalid(format!(
                    "algorithm {other:?} is not accepted"
                )));
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation(header.alg))
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthRejection::Expired,
                _ => AuthRejection::Invalid(e.to_string()),
            })?;
        let c = data.claims;
        // A token naming another issuer (another project sharing a key) is refused; tokens
        // without `iss` are accepted on their signature alone.
        if let (Some(expected), Some(iss)) = (&self.issuer, &c.iss)
            && iss != expected
            && iss != "supabase"
        {
            return Err(AuthRejection::Invalid(format!(
                "issuer '{iss}' is not this project"
            )));
        }
        match c.role.as_deref() {
            Some("service_role") => Ok(Principal::Service),
            Some("authenticated") => {
                let aud_ok = match &c.aud {
                    Some(Value::String(a)) => a == "authenticated",
                    Some(Value::Array(list)) => list.iter().any(|a| a == "authenticated"),
                    _ => false,
                };
                if !aud_ok {
                    return Err(AuthRejection::Invalid(
                        "audience is not 'authenticated'".into(),
                    ));
                }
                let id = c
                    .sub
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| AuthRejection::Invalid("token has no subject".into()))?;
                Ok(Principal::User {
                    id,
                    email: c.email,
                    access_token: AccessToken(token.to_string()),
                    expires_at: c.exp.map(|e| (e as i64).saturating_mul(1000)),
                })
            }
            Some(other) => Err(AuthRejection::Invalid(format!(
                "role '{other}' may not sign in"
            ))),
            None => Err(AuthRejection::Invalid("token has no role".into())),
        }
    }
}

/// What [`SupabaseAuth::check_signing`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningCheck {
    /// Users' tokens can be verified; how.
    Ready(String),
    /// They cannot; why.
    Broken(String),
}

impl SupabaseAuth {
    /// Whether users' access tokens can be verified (`maestro-server doctor`): the HS256
    /// secret, when set, must verify the project's own `anon_key` when that is an HS256 JWT
    /// (both come from the same project); otherwise the project's JWKS must be fetchable and
    /// hold at least one key.
    pub async fn check_signing(&self, anon_key: &str) -> SigningCheck {
        let hs256 = jsonwebtoken::decode_header(anon_key)
            .ok()
            .filter(|h| h.alg == Algorithm::HS256);
        if let (Some(secret), Some(_)) = (&self.hs256_secret, hs256) {
            let mut v = Validation::new(Algorithm::HS256);
            v.validate_aud = false;
            v.validate_exp = false;
            v.set_required_spec_claims::<&str>(&[]);
            return match jsonwebtoken::decode::<Value>(
                anon_key,
                &DecodingKey::from_secret(secret),
                &v,
            ) {
                Ok(_) => SigningCheck::Ready(
                    "SUPABASE_JWT_SECRET verifies SUPABASE_ANON_KEY (HS256 tokens)".into(),
                ),
                Err(e) => SigningCheck::Broken(format!(
                    "SUPABASE_JWT_SECRET does not verify SUPABASE_ANON_KEY ({e}): one of them is \
                     from another project"
                )),
            };
        }
        match self.fetch_jwks().await {
            Ok(set) if !set.keys.is_empty() => SigningCheck::Ready(format!(
                "{} signing key(s) at {}",
                set.keys.len(),
                self.jwks_url
            )),
            Ok(_) => SigningCheck::Broken(format!("{} holds no signing key", self.jwks_url)),
            Err(e) => SigningCheck::Broken(format!("{}: {}", self.jwks_url, e.message())),
        }
    }
}

#[async_trait]
impl Auth for SupabaseAuth {
    async fn authenticate<'a>(
        &self,
        bearer: Option<&'a str>,
    ) -> std::result::Result<Principal, AuthRejection> {
        let token = bearer
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthRejection::Missing)?;
        if let Some(api) = &self.api_token
            && maestro_domain::secret::constant_time_eq(api.as_bytes(), token.as_bytes())
        {
            return Ok(Principal::Service);
        }
        self.verify(token).await
    }
}
