//! Retried writes answered once: a client that sends a write again with the same
//! `Idempotency-Key` (the phone's queued offline changes, a CLI retrying after a timeout) gets
//! the first answer again instead of a second effect.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The answer recorded for a key: what the first request got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedResponse {
    pub status: u16,
    pub content_type: Option<String>,
    /// The body, as text (the API answers JSON).
    pub body: String,
}

/// What a key held when a request tried to claim it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: this request holds it now and runs, then calls
    /// [`IdempotencyStore::complete`] or [`IdempotencyStore::release`].
    Claimed,
    /// Another request with this key is running.
    InProgress { fingerprint: String },
    /// A request with this key was answered.
    Done {
        fingerprint: String,
        response: RecordedResponse,
    },
}

/// Which keys were used and what their requests were answered (distributed where the adapter
/// is: every instance on one Redis sees the same keys).
///
/// Guarantees:
/// - `claim` is atomic: of any number of concurrent claims of one free key, exactly one gets
///   [`Claim::Claimed`]; the others see [`Claim::InProgress`] (or [`Claim::Done`] once it is
///   answered), with the fingerprint the holder claimed it with.
/// - A claim lapses after its `ttl` (a holder that died frees the key); `complete` replaces
///   it with the response, kept for the `ttl` given to `complete`; `release` frees the key at
///   once (the request failed in a way a retry may fix).
/// - Keys are independent and opaque to the store (the caller scopes them per principal).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for a request with `fingerprint` (a digest of what it asks) for `ttl`, or
    /// tells what holds it.
    async fn claim(&self, key: &str, fingerprint: &str, ttl: Duration) -> Result<Claim>;
    /// Records the answer of the request that claimed `key`, kept for `ttl`.
    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &RecordedResponse,
        ttl: Duration,
    ) -> Result<()>;
    /// Frees `key` (its request failed; a retry runs again).
    async fn release(&self, key: &str) -> Result<()>;
}
