//! Retries: exponential backoff with full jitter.

use std::time::Duration;

/// How often and how patiently a request is retried after a network error or a 5xx answer.
/// A write that is not idempotent by itself (creating a task, sending mail) carries one
/// `Idempotency-Key` for all its attempts, so the server applies it once however often it is
/// sent (and answers `409` while the first attempt still runs, which is waited out too). Such a
/// write is not sent again after a `500` (its answer, which freed the key), and when no key can
/// be made it is sent once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Ceiling of the first wait; it doubles per attempt.
    pub base_delay: Duration,
    /// Ceiling of any wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `attempt` (1-based): uniform in `[0, min(max, base·2^(attempt-1))]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        let mut b = [0u8; 8];
        let r = match getrandom::fill(&mut b) {
            Ok(()) => u64::from_le_bytes(b),
            Err(_) => u64::from(attempt) * 0x9E37_79B9_7F4A_7C15,
        };
        let frac = (r >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(frac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_growing_ceiling() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let ceiling = (p.base_delay * (1 << (attempt - 1))).min(p.max_delay);
            for _ in 0..50 {
                assert!(p.delay(attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn delays_are_jittered() {
        let p = RetryPolicy::default();
        let a: Vec<_> = (0..20).map(|_| p.delay(3)).collect();
        assert!(a.iter().any(|d| *d != a[0]), "twenty equal delays: {a:?}");
    }
}
