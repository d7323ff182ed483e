//! Contract of [`Presence`]: liveness from heartbeats with a TTL, an expiration after a
//! lapse, none after `remove`. Real time: TTLs of 1-2 s. How soon after a lapse an expiration
//! comes is a figure of `docs/BENCHMARKS.md`; here it only has to come (a generous guard
//! turns "never" into a failure).
//!
//! Each case uses unique session ids and ignores other sessions' entries and expirations.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use maestro_domain::ports::{BoxStream, Presence};

use crate::fixtures::{heartbeat, unique_id};
use crate::support::next_within;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__presence_cases!(names);

const SHORT_TTL: Duration = Duration::from_secs(1);
const LONG_TTL: Duration = Duration::from_secs(30);
/// How long after a lapse the cases wait for its expiration before failing: a guard against
/// "never", below the 30 s limit of a case, not a bound on how soon.
const REPORT_WITHIN: Duration = Duration::from_secs(20);

/// Waits until `session` appears on `expirations`, at most `within`; whether it did.
async fn expired_within(
    expirations: &mut BoxStream<String>,
    session: &str,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next_within(expirations, left).await {
            Some(id) if id == session => return true,
            Some(_) => {}
            None => return false,
        }
    }
}

/// Drains what `expirations` yields right now (without waiting) and tells whether `session`
/// is among it.
fn expired_already(expirations: &mut BoxStream<String>, session: &str) -> bool {
    use futures_util::FutureExt;
    let mut found = false;
    while let Some(Some(id)) = expirations.next().now_or_never() {
        found |= id == session;
    }
    found
}

pub async fn unknown_session_is_not_alive(presence: Arc<dyn Presence>) {
    let session = unique_id("sess");
    assert!(!presence.is_alive(&session).await.unwrap());
    assert!(
        !presence
            .alive()
            .await
            .unwrap()
            .iter()
            .any(|e| e.session_id == session)
    );
    // Removing an unknown session is fine.
    presence.remove(&session).await.unwrap();
}

pub async fn heartbeat_makes_alive(presence: Arc<dyn Presence>) {
    let project = unique_id("proj");
    let session = unique_id("sess");
    let beat = heartbeat(&session, &project);
    presence.heartbeat(&beat, LONG_TTL).await.unwrap();
    assert!(presence.is_alive(&session).await.unwrap());
    let entries = presence.alive().await.unwrap();
    let entry = entries
        .iter()
        .find(|e| e.session_id == session)
        .expect("a live session is listed");
    assert_eq!(entry.project_id, project);
    assert_eq!(entry.last_seen, beat.last_seen);
    assert!(
        entry.expires_at > entry.last_seen,
        "expiresAt {} is not after lastSeen {}",
        entry.expires_at,
        entry.last_seen
    );
    // A later heartbeat replaces the entry.
    let mut later = beat.clone();
    later.last_seen += 1_000;
    presence.heartbeat(&later, LONG_TTL).await.unwrap();
    let entries = presence.alive().await.unwrap();
    let mine: Vec<_> = entries.iter().filter(|e| e.session_id == session).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].last_seen, later.last_seen);
    presence.remove(&session).await.unwrap();
    assert!(!presence.is_alive(&session).await.unwrap());
}

pub async fn alive_is_sorted_by_session_id(presence: Arc<dyn Presence>) {
    let project = unique_id("proj");
    let base = unique_id("sess");
    for suffix in ["c", "a", "d", "b"] {
        presence
            .heartbeat(&heartbeat(&format!("{base}_{suffix}"), &project), LONG_TTL)
            .await
            .unwrap();
    }
    let entries = presence.alive().await.unwrap();
    let all: Vec<&str> = entries.iter().map(|e| e.session_id.as_str()).collect();
    assert!(all.is_sorted(), "alive() is not sorted by session id");
    let mine: Vec<&str> = all.into_iter().filter(|s| s.starts_with(&base)).collect();
    let expected: Vec<String> = ["a", "b", "c", "d"]
        .iter()
        .map(|s| format!("{base}_{s}"))
        .collect();
    assert_eq!(mine, expected);
    for suffix in ["a", "b", "c", "d"] {
        presence.remove(&format!("{base}_{suffix}")).await.unwrap();
    }
}

pub async fn lapse_is_reported_and_ends_liveness(presence: Arc<dyn Presence>) {
    let project = unique_id("proj");
    let session = unique_id("sess");
    let mut expirations = presence.expirations();
    presence
        .heartbeat(&heartbeat(&session, &project), SHORT_TTL)
        .await
        .unwrap();
    assert!(presence.is_alive(&session).await.unwrap());
    tokio::time::sleep(SHORT_TTL + Duration::from_millis(50)).await;
    // Lapsed: no longer alive, whether or not the expiry has been processed yet.
    assert!(!presence.is_alive(&session).await.unwrap());
    assert!(
        !presence
            .alive()
            .await
            .unwrap()
            .iter()
            .any(|e| e.session_id == session)
    );
    assert!(
        expired_within(&mut expirations, &session, REPORT_WITHIN).await,
        "no expiration of {session} within {REPORT_WITHIN:?} of its lapse"
    );
    assert!(!presence.is_alive(&session).await.unwrap());
}

pub async fn heartbeats_keep_alive_past_ttl(presence: Arc<dyn Presence>) {
    let project = unique_id("proj");
    let session = unique_id("sess");
    let mut expirations = presence.expirations();
    let started = tokio::time::Instant::now();
    // Beat every 100 ms for 2.5 TTLs of 2 s: a stall of the machine shorter than the TTL
    // does not let the session lapse.
    let ttl = SHORT_TTL * 2;
    while started.elapsed() < ttl * 5 / 2 {
        presence
            .heartbeat(&heartbeat(&session, &project), ttl)
            .await
            .unwrap();
        assert!(presence.is_alive(&session).await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(presence.is_alive(&session).await.unwrap());
    assert!(
        !expired_already(&mut expirations, &session),
        "a session that kept beating was reported expired"
    );
    presence.remove(&session).await.unwrap();
}

pub async fn remove_produces_no_expiration(presence: Arc<dyn Presence>) {
    let project = unique_id("proj");
    let removed = unique_id("sess");
    let lapsing = unique_id("sess");
    let mut expirations = presence.expirations();
    presence
        .heartbeat(&heartbeat(&removed, &project), SHORT_TTL)
        .await
        .unwrap();
    presence
        .heartbeat(&heartbeat(&lapsing, &project), SHORT_TTL)
        .await
        .unwrap();
    presence.remove(&removed).await.unwrap();
    assert!(!presence.is_alive(&removed).await.unwrap());
    assert!(presence.is_alive(&lapsing).await.unwrap());
    // Wait for the other session's expiration: by then a wrong one for `removed` would
    // have been reported too.
    let deadline = tokio::time::Instant::now() + SHORT_TTL + REPORT_WITHIN;
    let mut seen_lapsing = false;
    while !seen_lapsing {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next_within(&mut expirations, left).await {
            Some(id) if id == removed => panic!("a removed session was reported expired"),
            Some(id) => seen_lapsing |= id == lapsing,
            None => panic!("no expiration of {lapsing} within {REPORT_WITHIN:?} of its lapse"),
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !expired_already(&mut expirations, &removed),
        "a removed session was reported expired"
    );
    assert!(!presence.is_alive(&removed).await.unwrap());
}
