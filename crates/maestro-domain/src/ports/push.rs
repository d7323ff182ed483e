//! Ports of Web Push (issue 27): where subscriptions are kept, and what delivers one message
//! to one push service.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::PushSubscription;

/// Web Push subscriptions, by id ([`PushSubscription::id_for`] of the endpoint).
///
/// Guarantees: `put` stores a subscription whole or not at all, replacing the one with the
/// same id (a device that subscribes again); `get` finds it by id; `list` returns every
/// subscription sorted by `created_at`, then id; `delete` answers whether it existed, after
/// which no instance sharing the store finds it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PushSubscriptionRepo: Send + Sync {
    async fn put(&self, sub: PushSubscription) -> Result<PushSubscription>;
    async fn get(&self, id: &str) -> Result<Option<PushSubscription>>;
    async fn list(&self) -> Result<Vec<PushSubscription>>;
    async fn delete(&self, id: &str) -> Result<bool>;
}

/// How soon a push service should wake the device (RFC 8030 §5.3 `Urgency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    VeryLow,
    Low,
    Normal,
    High,
}

impl Urgency {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VeryLow => "very-low",
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// One message for one device, before encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The plaintext (JSON the service worker reads); at most [`PushMessage::MAX_PAYLOAD`].
    pub payload: Vec<u8>,
    /// How long the push service keeps it for an unreachable device (`TTL`, seconds).
    pub ttl: u32,
    pub urgency: Urgency,
    /// Replaces an undelivered message with the same topic (RFC 8030 §5.4): at most 32
    /// base64url characters.
    pub topic: Option<String>,
}

impl PushMessage {
    /// Largest plaintext one aes128gcm record of 4096 bytes carries (RFC 8291 §4).
    pub const MAX_PAYLOAD: usize = 3993;
}

/// What a push service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushDelivery {
    /// Accepted (`201`).
    Delivered,
    /// The subscription no longer exists (`404`, `410`): drop it.
    Gone,
    /// Worth trying again (`429`, `5xx`, a network failure), after `after` when it said.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Refused for good (another `4xx`, a payload too large, an endpoint that may not be
    /// reached); dropping the subscription is not warranted.
    Failed(String),
}

/// Sends one message to one subscription's push service: encrypts it (RFC 8291 aes128gcm),
/// signs the request (RFC 8292 VAPID) and makes it (RFC 8030).
///
/// Guarantees: never sends to an endpoint [`PushSender::check_endpoint`] refuses, also when a
/// host name resolves, or a redirect points, to a refused address; bounds the time and the
/// size of each exchange; never panics on what a push service answers.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PushSender: Send + Sync {
    /// The VAPID public key (base64url of the uncompressed P-256 point): the browser's
    /// `applicationServerKey`.
    fn public_key(&self) -> String;

    /// Whether `endpoint` may be subscribed: an `https` URL (or an allow-listed origin) whose
    /// host is not a loopback, private or link-local address. Names are resolved at send time.
    fn check_endpoint(&self, endpoint: &str) -> Result<()>;

    async fn send(&self, sub: &PushSubscription, msg: &PushMessage) -> PushDelivery;
}
