//! The client and the one function every request goes through.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ClientError;
use crate::retry::RetryPolicy;
use crate::routes::{Route, Verb};

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A Maestro Server client: cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    retry: RetryPolicy,
    timeout: Duration,
}

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base: String,
    token: Option<String>,
    retry: RetryPolicy,
    timeout: Duration,
    user_agent: String,
}

impl ClientBuilder {
    /// The bearer token sent with every request: the server's `MAESTRO_API_TOKEN`, a Supabase
    /// access token, a session token (`mst1.…`) or a project API key (`mak1.…`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// Sets or clears the token.
    pub fn maybe_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// Retries of idempotent requests (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Timeout of one attempt (default 30 s; a mail wait adds its own wait to it).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let base = self.base.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| ClientError::Config(format!("invalid server URL {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "invalid server URL {base:?}: the scheme must be http or https"
            )));
        }
        if let Some(t) = &self.token
            && reqwest::header::HeaderValue::from_str(&format!("Bearer {t}")).is_err()
        {
            return Err(ClientError::Config(
                "the token has characters a header cannot carry".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: self.token,
            retry: self.retry,
            timeout: self.timeout,
        })
    }
}

/// One request: a route, its path parameters, query and body.
pub(crate) struct Call<'a> {
    pub route: Route,
    pub params: &'a [&'a str],
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    /// Added to the attempt timeout (long polls).
    pub extra_time: Duration,
}

impl<'a> Call<'a> {
    pub fn new(route: Route, params: &'a [&'a str]) -> Self {
        Self {
            route,
            params,
            query: Vec::new(),
            body: None,
            extra_time: Duration::ZERO,
        }
    }

    pub fn query(mut self, key: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((key, v.to_string()));
        }
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode {
            route: self.route.to_string(),
            message: format!("cannot serialise the request body: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

impl Client {
    /// A builder for the server at `base_url` (`http://127.0.0.1:3000`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            token: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            user_agent: concat!("maestro-client/", env!("CARGO_PKG_VERSION")).into(),
        }
    }

    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The same client with another token.
    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            token: token.filter(|t| !t.is_empty()),
            ..self.clone()
        }
    }

    /// `route`'s path with `params` filled in, each percent-encoded as one segment.
    pub(crate) fn url(&self, route: Route, params: &[&str]) -> Result<String, ClientError> {
        let mut out = self.base.clone();
        let mut params = params.iter();
        for seg in route.path.split('/').skip(1) {
            out.push('/');
            if seg.starts_with('{') {
                let Some(p) = params.next() else {
                    return Err(ClientError::Config(format!("{route}: missing {seg}")));
                };
                if p.is_empty() {
                    return Err(ClientError::Config(format!("{route}: empty {seg}")));
                }
                out.extend(utf8_percent_encode(p, SEGMENT));
            } else {
                out.push_str(seg);
            }
        }
        Ok(out)
    }

    /// Sends `call`, retrying transient failures of idempotent routes, and parses a 2xx body.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ClientError> {
        let bytes = self.send_raw(&call).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            route: call.route.to_string(),
            message: e.to_string(),
        })
    }

    async fn send_raw(&self, call: &Call<'_>) -> Result<Vec<u8>, ClientError> {
        let route = call.route;
        let url = self.url(route, call.params)?;
        // A write that is not idempotent by itself carries one key for all its attempts, so
        // the server applies it once (API.md "Retried writes"); without a key it is sent once.
        let key = (!route.idempotent && route.verb != Verb::Get)
            .then(idempotency_key)
            .flatten();
        let attempts = if route.idempotent || key.is_some() {
            self.retry.max_attempts.max(1)
        } else {
            1
        };
        let mut attempt = 1;
        loop {
            match self.attempt(route, &url, call, key.as_deref()).await {
                // A keyed write is not sent again after a `500`: that failure is its answer
                // (a spawn whose manifest could not be made, say), and the server frees the
                // key, so it would run again.
                Err(e)
                    if attempt < attempts
                        && ((e.is_transient() && (key.is_none() || e.status() != Some(500)))
                            || e.is_key_in_use()) =>
                {
                    let wait = self.retry.delay(attempt);
                    tracing::debug!(%route, attempt, error = %e, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        route: Route,
        url: &str,
        call: &Call<'_>,
        key: Option<&str>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut req = self.http.request(route.verb.method(), url);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(body) = &call.body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        if !call.extra_time.is_zero() {
            req = req.timeout(self.timeout + call.extra_time);
        }
        let network = |source| ClientError::Network {
            route: route.to_string(),
            source,
        };
        let resp = req.send().await.map_err(network)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(network)?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(ClientError::from_response(
                route.to_string(),
                status.as_u16(),
                &bytes,
            ))
        }
    }
}

/// A fresh `Idempotency-Key`: 128 random bits in hex; `None` without a source of randomness.
fn idempotency_key() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes;

    fn client() -> Client {
        Client::builder("http://h:1/").build().expect("client")
    }

    #[test]
    fn path_parameters_are_encoded_as_one_segment() {
        let url = client()
            .url(routes::SESSION_LINK, &["s 1", "a/b?c"])
            .expect("url");
        assert_eq!(url, "http://h:1/api/sessions/s%201/tasks/a%2Fb%3Fc");
    }

    #[test]
    fn missing_or_empty_parameters_are_refused() {
        assert!(client().url(routes::TASK, &[]).is_err());
        assert!(client().url(routes::TASK, &[""]).is_err());
    }

    #[test]
    fn bad_base_urls_are_refused() {
        assert!(Client::builder("not a url").build().is_err());
        assert!(Client::builder("ftp://x").build().is_err());
        assert!(Client::builder("http://x").token("a\nb").build().is_err());
    }

    #[test]
    fn server_errors_keep_code_message_and_details() {
        let e = ClientError::from_response(
            "GET /x".into(),
            400,
            br#"{"error":true,"statusCode":400,"code":"VALIDATION_ERROR","message":"bad","details":[{"path":"title"}]}"#,
        );
        assert_eq!(e.code(), Some("VALIDATION_ERROR"));
        assert_eq!(e.status(), Some(400));
        assert!(e.to_string().contains("bad"));
        let plain = ClientError::from_response("GET /x".into(), 502, b"Bad Gateway");
        assert_eq!(plain.code(), Some("HTTP_502"));
        assert!(plain.is_transient());
    }
}
