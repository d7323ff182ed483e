//! Production and test implementations of [`Clock`] and [`IdGenerator`].

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::Millis;
use crate::ports::{Clock, IdGenerator};

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_ms: Millis) -> Self {
        Self(AtomicI64::new(start_ms))
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, ms: Millis) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// `<prefix>_<ms>_<9 base-36 chars>` from the OS CSPRNG (DEFECTS O4: fixed length, CSPRNG).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn generate(&self, prefix: &str, now_ms: Millis) -> String {
        let mut out = String::with_capacity(prefix.len() + 24);
        out.push_str(prefix);
        out.push('_');
        out.push_str(&now_ms.to_string());
        out.push('_');
        let mut filled = 0;
        while filled < 9 {
            let mut buf = [0u8; 16];
            if getrandom::fill(&mut buf).is_err() {
                // The OS RNG is unavailable: fall back to a process counter mixed with time,
                // still unique within this process (repositories also refuse duplicate ids).
                static FALLBACK: AtomicU64 = AtomicU64::new(1);
                let n = FALLBACK.fetch_add(1, Ordering::Relaxed) ^ (now_ms as u64).rotate_left(17);
                buf = (u128::from(n) * 0x9E37_79B9_7F4A_7C15).to_le_bytes();
            }
            for b in buf {
                // 252 = 7 * 36: reject the top values to keep the distribution uniform.
                if b < 252 && filled < 9 {
                    out.push(BASE36[usize::from(b % 36)] as char);
                    filled += 1;
                }
            }
        }
        out
    }
}

/// Predictable ids `<prefix>_<ms>_<n>` with a process-wide counter (tests).
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl IdGenerator for SequentialIds {
    fn generate(&self, prefix: &str, now_ms: Millis) -> String {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{prefix}_{now_ms}_{n:09}")
    }
}

/// ISO-8601 UTC with milliseconds and `Z` (`2026-02-17T10:04:05.123Z`), as team members use.
pub fn iso_from_millis(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_have_fixed_shape() {
        let id = RandomIds.generate("task", 1_700_000_000_000);
        let parts: Vec<&str> = id.split('_').collect();
        assert_eq!(parts[0], "task");
        assert_eq!(parts[1], "1700000000000");
        assert_eq!(parts[2].len(), 9);
        assert!(parts[2].bytes().all(|b| BASE36.contains(&b)));
        assert_ne!(id, RandomIds.generate("task", 1_700_000_000_000));
    }

    #[test]
    fn iso_format_matches_javascript() {
        assert_eq!(iso_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_from_millis(1_771_322_645_123),
            "2026-02-17T10:04:05.123Z"
        );
        assert_eq!(iso_from_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
