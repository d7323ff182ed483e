//! Readiness checks for tests: wait for a state instead of sleeping and hoping.
//!
//! A fixed sleep before a step ("the subscriber must be ready by now") makes a test fail — or
//! pass without testing what it claims — on a slow machine. [`until`] polls a condition
//! instead, for as long as [`PATIENCE`]: far longer than any healthy run needs, so it only
//! ever turns a hang into a failure, never a slow machine into one.

use std::time::Duration;

/// How long [`until`] waits before failing: a guard against hangs, not a performance bound.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `ready` every 10 ms until it holds; panics naming `what` after [`PATIENCE`].
#[track_caller]
pub fn until(what: &str, mut ready: impl FnMut() -> bool) -> impl Future<Output = ()> {
    until_async(what, move || std::future::ready(ready()))
}

/// [`until`] for a condition that has to be awaited (an HTTP request, say).
#[track_caller]
pub fn until_async<F, Fut>(what: &str, mut ready: F) -> impl Future<Output = ()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let caller = std::panic::Location::caller();
    let what = what.to_owned();
    async move {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !ready().await {
            if tokio::time::Instant::now() > deadline {
                panic!("{caller}: still not {what} after {PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The value of the sample `name_and_labels` (e.g. `maestro_mail_waits_pending`) in a
/// Prometheus text exposition, `0` when absent: for readiness checks on a server's gauges.
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name_and_labels.trim_end())?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}
