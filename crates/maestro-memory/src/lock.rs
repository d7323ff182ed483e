//! [`MemoryLock`]: process-local leases with a time-to-live.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::ports::{Fenced, FencedLease, Lease, Lock};
use tokio::time::Instant;

/// Lapsed entries are swept once the map holds this many (and then at twice the live count).
const MIN_SWEEP_AT: usize = 64;

struct Held {
    token: String,
    deadline: Instant,
}

impl Held {
    fn is_live(&self, now: Instant) -> bool {
        self.deadline > now
    }
}

struct Leases {
    held: HashMap<String, Held>,
    sweep_at: usize,
    /// Fenced leases: owner, fence and deadline per resource.
    fenced: HashMap<String, (String, u64, Instant)>,
    /// The last fence handed out per resource (never forgotten, so fences only grow).
    fences: HashMap<String, u64>,
}

/// Redis `SET resource token NX PX ttl` semantics in one process.
///
/// Each lease carries a random 128-bit owner token; `release` and `extend` compare it and act
/// only for the live owner. A lease lapses `ttl` after acquisition or its last extension
/// (monotonic clock), after which anybody may acquire the resource. Mutual exclusion holds
/// between the users of one `MemoryLock` value only: share it through an `Arc`.
pub struct MemoryLock {
    leases: Mutex<Leases>,
}

impl MemoryLock {
    pub fn new() -> Self {
        Self {
            leases: Mutex::new(Leases {
                held: HashMap::new(),
                sweep_at: MIN_SWEEP_AT,
                fenced: HashMap::new(),
                fences: HashMap::new(),
            }),
        }
    }

    // Every critical section below is a few map operations that cannot panic half-way, so a
    // poisoned mutex still holds consistent data.
    fn leases(&self) -> MutexGuard<'_, Leases> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryLock {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh owner token: 128 random bits in hex, or a process-unique counter if the OS RNG
/// fails (enough for a process-local lock).
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        static FALLBACK: AtomicU64 = AtomicU64::new(1);
        tracing::warn!(error = %e, "OS RNG unavailable; lock tokens fall back to a counter");
        let n = FALLBACK.fetch_add(1, Ordering::Relaxed);
        return format!("local-{n:016x}");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Lock for MemoryLock {
    async fn try_acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>> {
        let now = Instant::now();
        let mut leases = self.leases();
        if leases.held.get(resource).is_some_and(|h| h.is_live(now)) {
            return Ok(None);
        }
        let token = new_token();
        leases.held.insert(
            resource.to_owned(),
            Held {
                token: token.clone(),
                deadline: crate::deadline(now, ttl),
            },
        );
        if leases.held.len() >= leases.sweep_at {
            leases.held.retain(|_, h| h.is_live(now));
            leases.sweep_at = (leases.held.len() * 2).max(MIN_SWEEP_AT);
        }
        Ok(Some(Lease {
            resource: resource.to_owned(),
            token,
        }))
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        let now = Instant::now();
        let mut leases = self.leases();
        let owned = leases
            .held
            .get(&lease.resource)
            .is_some_and(|h| h.token == lease.token && h.is_live(now));
        if owned {
            leases.held.remove(&lease.resource);
        }
        Ok(owned)
    }

    async fn extend(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let mut leases = self.leases();
        match leases.held.get_mut(&lease.resource) {
            Some(h) if h.token == lease.token && h.is_live(now) => {
                h.deadline = crate::deadline(now, ttl);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn acquire_fenced(&self, resource: &str, owner: &str, ttl: Duration) -> Result<Fenced> {
        let now = Instant::now();
        let deadline = crate::deadline(now, ttl);
        let mut leases = self.leases();
        if let Some((held_by, fence, until)) = leases.fenced.get_mut(resource)
            && *until > now
        {
            if held_by == owner {
                *until = deadline;
                return Ok(Fenced::Granted {
                    lease: FencedLease {
                        owner: owner.to_owned(),
                        fence: *fence,
                        ttl_left: ttl,
                    },
                    renewed: true,
                });
            }
            return Ok(Fenced::Held(FencedLease {
                owner: held_by.clone(),
                fence: *fence,
                ttl_left: *until - now,
            }));
        }
        let fence = leases.fences.get(resource).copied().unwrap_or(0) + 1;
        leases.fences.insert(resource.to_owned(), fence);
        leases
            .fenced
            .insert(resource.to_owned(), (owner.to_owned(), fence, deadline));
        Ok(Fenced::Granted {
            lease: FencedLease {
                owner: owner.to_owned(),
                fence,
                ttl_left: ttl,
            },
            renewed: false,
        })
    }

    async fn fenced_holder(&self, resource: &str) -> Result<Option<FencedLease>> {
        let now = Instant::now();
        let leases = self.leases();
        Ok(leases
            .fenced
            .get(resource)
            .filter(|(_, _, until)| *until > now)
            .map(|(owner, fence, until)| FencedLease {
                owner: owner.clone(),
                fence: *fence,
                ttl_left: *until - now,
            }))
    }

    async fn release_fenced(&self, resource: &str, owner: &str) -> Result<bool> {
        let now = Instant::now();
        let mut leases = self.leases();
        let owned = leases
            .fenced
            .get(resource)
            .is_some_and(|(o, _, until)| o == owner && *until > now);
        if owned {
            leases.fenced.remove(resource);
        }
        Ok(owned)
    }

    async fn live_fenced(&self) -> Result<usize> {
        let now = Instant::now();
        let mut leases = self.leases();
        leases.fenced.retain(|_, (_, _, until)| *until > now);
        Ok(leases.fenced.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lapsed_leases_are_swept_so_the_map_stays_bounded() {
        let lock = MemoryLock::new();
        for i in 0..1_000 {
            lock.try_acquire(&format!("r{i}"), Duration::ZERO)
                .await
                .unwrap()
                .unwrap();
        }
        assert!(lock.leases().held.len() <= MIN_SWEEP_AT);
    }

    #[tokio::test]
    async fn tokens_are_128_bit_hex_and_fresh() {
        let lock = MemoryLock::new();
        let a = lock
            .try_acquire("a", Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        let b = lock
            .try_acquire("a", Duration::ZERO)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.token.len(), 32);
        assert!(a.token.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.token, b.token);
    }

    #[tokio::test]
    async fn absurd_ttls_do_not_panic() {
        let lock = MemoryLock::new();
        let lease = lock.try_acquire("a", Duration::MAX).await.unwrap().unwrap();
        assert!(lock.extend(&lease, Duration::MAX).await.unwrap());
        assert_eq!(lock.try_acquire("a", Duration::MAX).await.unwrap(), None);
    }
}
