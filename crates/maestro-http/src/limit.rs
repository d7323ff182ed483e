//! Rate limiting of failed authentications per client address (token bucket).
//!
//! Only *failures* take from a bucket: a request with a valid credential is never limited,
//! so a brute-force attempt cannot lock out the legitimate user. An empty bucket turns the
//! next failure into `429 Too Many Requests` with `Retry-After`.

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets of authentication failures, one per client address.
#[derive(Debug)]
pub struct FailureLimiter {
    burst: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
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
        }
    }

    /// Records one failure of `ip`: `Ok(())` while the client has failures left, else
    /// `Err(retry_after)`.
    pub fn fail(&self, ip: IpAddr) -> Result<(), Duration> {
        self.fail_at(ip, Instant::now())
    }

    fn fail_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED {
            let (burst, rate) = (self.burst, self.refill_per_sec);
            buckets.retain(|_, b| refill(b, now, burst, rate) < burst);
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = refill(b, now, self.burst, self.refill_per_sec);
        *b = Bucket { tokens, at: now };
        if tokens >= 1.0 {
            b.tokens -= 1.0;
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
        for _ in 0..3 {
            assert!(l.fail_at(ip, t0).is_ok());
        }
        let wait = l.fail_at(ip, t0).unwrap_err();
        assert!(wait >= Duration::from_secs(1));
        // Another client is not affected.
        assert!(l.fail_at(IpAddr::V4(Ipv4Addr::LOCALHOST), t0).is_ok());
        // One second later one failure is allowed again.
        assert!(l.fail_at(ip, t0 + Duration::from_millis(1100)).is_ok());
        assert!(l.fail_at(ip, t0 + Duration::from_millis(1100)).is_err());
    }
}
