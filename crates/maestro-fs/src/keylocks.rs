//! Sharded per-record writer locks.
//!
//! Writers of one record take the shard of its key, so they are serialised; unrelated records
//! rarely share a shard. A writer never holds two shards, so there is no lock ordering to
//! get wrong. The guard is owned so it can travel into the blocking I/O task and be released
//! only after the cache was updated, even if the caller's future is dropped meanwhile.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

const SHARDS: usize = 64;

#[derive(Debug)]
pub(crate) struct KeyLocks {
    shards: Vec<Arc<Mutex<()>>>,
}

impl Default for KeyLocks {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Arc::new(Mutex::new(()))).collect(),
        }
    }
}

impl KeyLocks {
    /// Waits for the writer lock of `key`.
    pub(crate) async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        // `SHARDS` fits in u64 and the remainder is < SHARDS, so the casts are lossless.
        let i = (h.finish() % SHARDS as u64) as usize;
        Arc::clone(&self.shards[i]).lock_owned().await
    }
}
