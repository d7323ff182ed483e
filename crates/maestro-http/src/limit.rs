//! Rate limiting of failed authentications per client address (token bucket).
//!
//! Only *failures* take from a bucket: a request with a valid credential is never limited,
//! so a brute-force attempt cannot lock out the legitimate user. Only *new* wrong tokens count:
//! a client retrying the same stale token (a phone after a token change) spends one failure,
//! a guesser spends one per guess. An empty bucket turns the next failure into
//! `429 Too Many Requests` with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures a client may make in a burst.
pub const FAILURE_BURST: f64 = 20.0;
/// Failures a client regains per second.
pub const FAILURE_REFILL_PER_SEC: f64 = 0.5;
/// Buckets kept before full ones are pruned.
const MAX_TRACKED: usize = 10_000;

/// Wrong tokens remembered per client, so repeating one costs nothing.
const RECENT: usize = 8;

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// Hashes of the last wrong tokens of this client.
    recent: std::collections::VecDeque<u64>,
}

/// Token buckets of authentication failures, one per client address.
#[derive(Debug)]
pub struct FailureLimiter {
    burst: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    /// Keyed hashing of tokens (never stored in clear).
    hasher: std::collections::hash_map::RandomState,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(FAILURE_BURST, FAILURE_REFILL_PER_SEC)
    }
}

impl FailureLimiter {
    pub fn new(burst: f64, refill_per_sec: f64) -> Self {
        Self {
            burst,
            refill_per_sec,
            buckets: Mutex::new(HashMap::new()),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Records a failure of `ip` with `token`: `Ok(())` while the client has failures left
    /// (or repeats a wrong token it already tried), else `Err(retry_after)`.
    pub fn fail(&self, ip: IpAddr, token: &str) -> Result<(), Duration> {
        self.fail_at(ip, token, Instant::now())
    }

    fn fail_at(&self, ip: IpAddr, token: &str, now: Instant) -> Result<(), Duration> {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(token);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            let (burst, rate) = (self.burst, self.refill_per_sec);
            buckets.retain(|_, b| refill(b, now, burst, rate) < burst);
        }
        let b = buckets.entry(ip).or_insert_with(|| Bucket {
            tokens: self.burst,
            at: now,
            recent: std::collections::VecDeque::new(),
        });
        if b.recent.contains(&hash) {
            return Ok(());
        }
        let tokens = refill(b, now, self.burst, self.refill_per_sec);
        b.tokens = tokens;
        b.at = now;
        if tokens >= 1.0 {
            b.tokens -= 1.0;
            if b.recent.len() == RECENT {
                b.recent.pop_front();
            }
            b.recent.push_back(hash);
            Ok(())
        } else {
            let wait = (1.0 - tokens) / self.refill_per_sec;
            Err(Duration::from_secs_f64(wait.max(1.0)))
        }
    }
}

fn refill(b: &Bucket, now: Instant, burst: f64, rate: f64) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * rate).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_burst_then_retry_after_then_refill() {
        let l = FailureLimiter::new(3.0, 1.0);
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(l.fail_at(ip, &format!("guess{i}"), t0).is_ok());
        }
        let wait = l.fail_at(ip, "guess3", t0).unwrap_err();
        assert!(wait >= Duration::from_secs(1));
        // Repeating a token already tried costs nothing.
        assert!(l.fail_at(ip, "guess1", t0).is_ok());
        // Another client is not affected.
        assert!(
            l.fail_at(IpAddr::V4(Ipv4Addr::LOCALHOST), "guess9", t0)
                .is_ok()
        );
        // One second later one failure is allowed again.
        assert!(
            l.fail_at(ip, "guess4", t0 + Duration::from_millis(1100))
                .is_ok()
        );
        assert!(
            l.fail_at(ip, "guess5", t0 + Duration::from_millis(1100))
                .is_err()
        );
    }
}
