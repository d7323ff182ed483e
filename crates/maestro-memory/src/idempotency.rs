//! [`MemoryIdempotency`]: process-local idempotency keys with a time-to-live.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::ports::{Claim, IdempotencyStore, RecordedResponse};
use tokio::time::Instant;

/// Lapsed entries are swept once the map holds this many (and then at twice the live count).
const MIN_SWEEP_AT: usize = 256;

struct Entry {
    fingerprint: String,
    /// `None` while its request runs.
    response: Option<RecordedResponse>,
    deadline: Instant,
}

struct Keys {
    entries: HashMap<String, Entry>,
    sweep_at: usize,
}

/// Idempotency keys in one process (one server on the in-memory or FileSystem backend; a
/// restart forgets them). Claims are atomic under one mutex, never held across an `.await`.
pub struct MemoryIdempotency {
    keys: Mutex<Keys>,
}

impl Default for MemoryIdempotency {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryIdempotency {
    pub fn new() -> Self {
        Self {
            keys: Mutex::new(Keys {
                entries: HashMap::new(),
                sweep_at: MIN_SWEEP_AT,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Keys> {
        // Every critical section leaves the map consistent: recover from a poisoned lock.
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotency {
    async fn claim(&self, key: &str, fingerprint: &str, ttl: Duration) -> Result<Claim> {
        let now = Instant::now();
        let mut keys = self.lock();
        if keys.entries.len() >= keys.sweep_at {
            keys.entries.retain(|_, e| e.deadline > now);
            keys.sweep_at = (keys.entries.len() * 2).max(MIN_SWEEP_AT);
        }
        if let Some(e) = keys.entries.get(key).filter(|e| e.deadline > now) {
            return Ok(match &e.response {
                None => Claim::InProgress {
                    fingerprint: e.fingerprint.clone(),
                },
                Some(r) => Claim::Done {
                    fingerprint: e.fingerprint.clone(),
                    response: r.clone(),
                },
            });
        }
        keys.entries.insert(
            key.to_string(),
            Entry {
                fingerprint: fingerprint.to_string(),
                response: None,
                deadline: now + ttl,
            },
        );
        Ok(Claim::Claimed)
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &RecordedResponse,
        ttl: Duration,
    ) -> Result<()> {
        self.lock().entries.insert(
            key.to_string(),
            Entry {
                fingerprint: fingerprint.to_string(),
                response: Some(response.clone()),
                deadline: Instant::now() + ttl,
            },
        );
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<()> {
        self.lock().entries.remove(key);
        Ok(())
    }
}
