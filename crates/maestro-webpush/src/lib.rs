//! # maestro-webpush
//!
//! The Web Push adapter of [`PushSender`]: encrypts a message for one device (RFC 8291
//! aes128gcm, by `web-push-native`), signs the request with the server's VAPID key (RFC 8292,
//! [`vapid`]) and posts it to the device's push service (RFC 8030) with `TTL`, `Urgency` and
//! `Topic`. Endpoints are untrusted URLs: [`guard`] keeps the server off its own network.

pub mod error;
pub mod guard;
pub mod vapid;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maestro_domain::model::PushSubscription;
use maestro_domain::ports::{PushDelivery, PushMessage, PushSender};

pub use error::WebPushError;
pub use guard::EndpointPolicy;
pub use vapid::VapidKeys;

/// How long a VAPID JWT is valid (RFC 8292 allows at most 24 h).
const JWT_VALIDITY: Duration = Duration::from_secs(12 * 3600);
/// A cached JWT is renewed this long before it expires.
const JWT_RENEW_BEFORE: Duration = Duration::from_secs(3600);
/// Most bytes of a push service's answer that are read (for the log).
const MAX_ANSWER_BYTES: usize = 4096;

/// Settings of [`WebPushSender`].
#[derive(Debug, Clone)]
pub struct WebPushConfig {
    /// The contact push services may write to: `mailto:` or `https:` (VAPID `sub`).
    pub subject: String,
    /// Which endpoints may be reached.
    pub policy: EndpointPolicy,
    /// Longest time one push request may take, connection included.
    pub timeout: Duration,
}

impl Default for WebPushConfig {
    fn default() -> Self {
        Self {
            subject: "mailto:maestro@localhost".into(),
            policy: EndpointPolicy::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Sends Web Push messages over HTTPS; see the crate documentation.
pub struct WebPushSender {
    keys: VapidKeys,
    config: WebPushConfig,
    client: reqwest::Client,
    /// VAPID JWTs by audience, with the time (s) they expire.
    jwts: Mutex<HashMap<String, (String, u64)>>,
}

impl WebPushSender {
    pub fn new(keys: VapidKeys, config: WebPushConfig) -> Result<Self, WebPushError> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(config.policy.resolver()))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .timeout(config.timeout)
            .user_agent(concat!("maestro-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebPushError::Client(e.to_string()))?;
        Ok(Self {
            keys,
            config,
            client,
            jwts: Mutex::new(HashMap::new()),
        })
    }

    /// `Authorization` for a push service at `audience` (`scheme://host[:port]`).
    fn authorization(&self, audience: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut jwts = self.jwts.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = jwts
            .get(audience)
            .filter(|(_, exp)| *exp > now + JWT_RENEW_BEFORE.as_secs())
            .map(|(jwt, _)| jwt.clone());
        let jwt = fresh.unwrap_or_else(|| {
            let exp = now + JWT_VALIDITY.as_secs();
            let jwt = self.keys.jwt(audience, exp, &self.config.subject);
            jwts.insert(audience.to_string(), (jwt.clone(), exp));
            jwt
        });
        format!("vapid t={jwt}, k={}", self.keys.public())
    }
}

/// The audience of a push service: the endpoint's origin, its port only when not the default.
fn audience(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The start of a push service's answer, for the log (at most [`MAX_ANSWER_BYTES`]).
async fn answer_text(mut resp: reqwest::Response) -> String {
    let mut out = Vec::new();
    while out.len() < MAX_ANSWER_BYTES {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c[..c.len().min(MAX_ANSWER_BYTES - out.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a request failed because the [`guard`] refused every address of its host.
fn refused_by_guard(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<WebPushError>().is_some() {
            return true;
        }
        source = s.source();
    }
    false
}

#[async_trait]
impl PushSender for WebPushSender {
    fn public_key(&self) -> String {
        self.keys.public().to_string()
    }

    fn check_endpoint(&self, endpoint: &str) -> maestro_domain::Result<()> {
        self.config.policy.check(endpoint)?;
        Ok(())
    }

    async fn send(&self, sub: &PushSubscription, msg: &PushMessage) -> PushDelivery {
        let url = match self.config.policy.check(&sub.endpoint) {
            Ok(u) => u,
            Err(e) => return PushDelivery::Failed(e.to_string()),
        };
        let Some(aud) = audience(&url) else {
            return PushDelivery::Failed("endpoint has no host".into());
        };
        if msg.payload.len() > PushMessage::MAX_PAYLOAD {
            return PushDelivery::Failed("payload too large".into());
        }
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok();
        let ua_public = decode(&sub.keys.p256dh)
            .and_then(|b| web_push_native::p256::PublicKey::from_sec1_bytes(&b).ok());
        let ua_auth = decode(&sub.keys.auth).filter(|b| b.len() == 16);
        let (Some(ua_public), Some(ua_auth)) = (ua_public, ua_auth) else {
            return PushDelivery::Failed("the subscription's keys are not valid".into());
        };
        let auth = web_push_native::Auth::clone_from_slice(&ua_auth);
        let body = match web_push_native::encrypt(msg.payload.clone(), &ua_public, &auth) {
            Ok(b) => b,
            Err(e) => return PushDelivery::Failed(format!("encryption failed: {e}")),
        };
        let mut req = self
            .client
            .post(url)
            .header("TTL", msg.ttl)
            .header("Urgency", msg.urgency.as_str())
            .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::AUTHORIZATION, self.authorization(&aud))
            .body(body);
        if let Some(topic) = &msg.topic {
            req = req.header("Topic", topic);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let refused = refused_by_guard(&e);
                return if refused {
                    PushDelivery::Failed(format!("endpoint refused: {e}"))
                } else {
                    PushDelivery::Retry {
                        after: None,
                        reason: format!("push service unreachable: {e}"),
                    }
                };
            }
        };
        let status = resp.status();
        match status.as_u16() {
            200..=299 => PushDelivery::Delivered,
            404 | 410 => PushDelivery::Gone,
            429 | 500..=599 => PushDelivery::Retry {
                after: retry_after(resp.headers()),
                reason: format!("{status}: {}", answer_text(resp).await),
            },
            _ => PushDelivery::Failed(format!("{status}: {}", answer_text(resp).await)),
        }
    }
}
