//! [`MemoryPresence`]: heartbeats with a time-to-live and a background expiry sweeper.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::Millis;
use maestro_domain::ports::{BoxStream, Heartbeat, Presence, PresenceEntry};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

struct Entry {
    project_id: String,
    last_seen: Millis,
    expires_at: Millis,
    /// When the entry lapses (monotonic).
    deadline: Instant,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.deadline > now
    }
}

#[derive(Default)]
struct State {
    /// Sessions by id (so `alive` is sorted for free).
    entries: BTreeMap<String, Entry>,
    /// `(deadline, session id)` of every entry, earliest first.
    deadlines: BTreeSet<(Instant, String)>,
    /// One unbounded queue per `expirations()` stream: an expiration is never dropped for a
    /// slow reader (they are rare, one per lapsed session).
    subscribers: Vec<mpsc::UnboundedSender<String>>,
}

impl State {
    fn forget(&mut self, session_id: &str) -> Option<Entry> {
        let entry = self.entries.remove(session_id)?;
        self.deadlines
            .remove(&(entry.deadline, session_id.to_owned()));
        Some(entry)
    }

    fn emit(&mut self, session_id: &str) {
        tracing::debug!(session_id, "presence expired");
        self.subscribers
            .retain(|tx| tx.send(session_id.to_owned()).is_ok());
    }

    /// Expires every entry whose deadline is not after `now`; returns the next deadline.
    fn sweep(&mut self, now: Instant) -> Option<Instant> {
        while let Some((deadline, _)) = self.deadlines.first() {
            if *deadline > now {
                return Some(*deadline);
            }
            if let Some((_, session_id)) = self.deadlines.pop_first() {
                self.entries.remove(&session_id);
                self.emit(&session_id);
            }
        }
        None
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the sweeper when a heartbeat sets an earlier deadline than it sleeps until.
    wake: Notify,
}

impl Shared {
    // Critical sections are plain collection updates; a poisoned mutex is still consistent.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Agent presence in one process.
///
/// A session is alive until `ttl` after its latest heartbeat (monotonic clock; the reported
/// `expiresAt` is the heartbeat's `lastSeen` plus `ttl`). A background tokio task sleeps until
/// the earliest deadline and then emits every lapsed session id on every
/// [`expirations`](Presence::expirations) stream, within a few milliseconds of the lapse. A
/// heartbeat that arrives after its session lapsed but before the sweeper ran still counts the
/// lapse (one expiration) before the session is alive again, like a Redis key that expired.
/// `is_alive` and `alive` never report a lapsed session, swept or not. `remove` forgets a
/// session without an expiration.
///
/// **Needs a tokio runtime**: [`MemoryPresence::new`] spawns the sweeper on the current one
/// (and panics outside of one). Dropping the `MemoryPresence` stops the sweeper and ends the
/// expiration streams.
pub struct MemoryPresence {
    shared: Arc<Shared>,
    sweeper: JoinHandle<()>,
}

impl MemoryPresence {
    /// Creates the store and spawns its sweeper.
    ///
    /// # Panics
    ///
    /// Outside of a tokio runtime (as `tokio::spawn` does).
    #[expect(
        clippy::new_without_default,
        reason = "a Default that spawns a task and needs a runtime would surprise"
    )]
    pub fn new() -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        });
        let sweeper = tokio::spawn(sweep_loop(Arc::clone(&shared)));
        Self { shared, sweeper }
    }

    /// Number of sessions held, lapsed-but-unswept ones included (diagnostics).
    pub fn len(&self) -> usize {
        self.shared.state().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for MemoryPresence {
    fn drop(&mut self) {
        self.sweeper.abort();
    }
}

async fn sweep_loop(shared: Arc<Shared>) {
    loop {
        let next = shared.state().sweep(Instant::now());
        match next {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn heartbeat(&self, beat: &Heartbeat, ttl: Duration) -> Result<()> {
        let now = Instant::now();
        let deadline = crate::deadline(now, ttl);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let mut state = self.shared.state();
        if let Some(old) = state.forget(&beat.session_id)
            && !old.is_live(now)
        {
            state.emit(&beat.session_id);
        }
        let earliest = state.deadlines.first().is_none_or(|(d, _)| deadline < *d);
        state.deadlines.insert((deadline, beat.session_id.clone()));
        state.entries.insert(
            beat.session_id.clone(),
            Entry {
                project_id: beat.project_id.clone(),
                last_seen: beat.last_seen,
                expires_at: beat.last_seen.saturating_add(ttl_ms),
                deadline,
            },
        );
        drop(state);
        if earliest {
            // A stored permit if the sweeper is busy: it re-reads the deadlines either way.
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    async fn is_alive(&self, session_id: &str) -> Result<bool> {
        let now = Instant::now();
        Ok(self
            .shared
            .state()
            .entries
            .get(session_id)
            .is_some_and(|e| e.is_live(now)))
    }

    async fn alive(&self) -> Result<Vec<PresenceEntry>> {
        let now = Instant::now();
        Ok(self
            .shared
            .state()
            .entries
            .iter()
            .filter(|(_, e)| e.is_live(now))
            .map(|(id, e)| PresenceEntry {
                session_id: id.clone(),
                project_id: e.project_id.clone(),
                last_seen: e.last_seen,
                expires_at: e.expires_at,
            })
            .collect())
    }

    async fn remove(&self, session_id: &str) -> Result<()> {
        self.shared.state().forget(session_id);
        Ok(())
    }

    fn expirations(&self) -> BoxStream<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.state().subscribers.push(tx);
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|id| (id, rx))
        }))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn beat(session_id: &str) -> Heartbeat {
        Heartbeat {
            session_id: session_id.to_owned(),
            project_id: "proj_1".to_owned(),
            last_seen: 1_000,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expiration_arrives_within_100ms_of_the_lapse() {
        let presence = MemoryPresence::new();
        let mut expirations = presence.expirations();
        let ttl = Duration::from_millis(150);
        presence.heartbeat(&beat("sess_a"), ttl).await.unwrap();
        let lapse = Instant::now() + ttl;
        let id = tokio::time::timeout(Duration::from_secs(2), expirations.next())
            .await
            .unwrap();
        assert_eq!(id.as_deref(), Some("sess_a"));
        let late = Instant::now().saturating_duration_since(lapse);
        assert!(late < Duration::from_millis(100), "reported {late:?} late");
        assert!(presence.is_empty());
    }

    #[tokio::test]
    async fn reports_expires_at_from_last_seen_and_ttl() {
        let presence = MemoryPresence::new();
        presence
            .heartbeat(&beat("sess_a"), Duration::from_secs(30))
            .await
            .unwrap();
        let alive = presence.alive().await.unwrap();
        assert_eq!(
            alive,
            vec![PresenceEntry {
                session_id: "sess_a".into(),
                project_id: "proj_1".into(),
                last_seen: 1_000,
                expires_at: 31_000,
            }]
        );
    }

    #[tokio::test]
    async fn an_earlier_deadline_wakes_the_sweeper() {
        let presence = MemoryPresence::new();
        let mut expirations = presence.expirations();
        presence
            .heartbeat(&beat("sess_long"), Duration::from_secs(60))
            .await
            .unwrap();
        // Let the sweeper go to sleep until the 60 s deadline.
        tokio::time::sleep(Duration::from_millis(20)).await;
        presence
            .heartbeat(&beat("sess_short"), Duration::from_millis(50))
            .await
            .unwrap();
        let id = tokio::time::timeout(Duration::from_millis(500), expirations.next())
            .await
            .unwrap();
        assert_eq!(id.as_deref(), Some("sess_short"));
        assert!(presence.is_alive("sess_long").await.unwrap());
    }

    #[test]
    fn sweep_expires_due_entries_only_and_keeps_the_index_consistent() {
        let mut state = State::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        state.subscribers.push(tx);
        let now = Instant::now();
        for (id, ms) in [("a", 10i64), ("b", 20), ("c", 30)] {
            let deadline = now + Duration::from_millis(ms as u64);
            state.deadlines.insert((deadline, id.to_owned()));
            state.entries.insert(
                id.to_owned(),
                Entry {
                    project_id: "p".into(),
                    last_seen: 0,
                    expires_at: ms,
                    deadline,
                },
            );
        }
        assert!(state.forget("b").is_some());
        let next = state.sweep(now + Duration::from_millis(25));
        assert_eq!(next, Some(now + Duration::from_millis(30)));
        assert_eq!(rx.try_recv().ok().as_deref(), Some("a"));
        assert!(rx.try_recv().is_err(), "a forgotten entry never expires");
        assert_eq!(state.entries.len(), 1);
        assert_eq!(state.deadlines.len(), 1);
        assert_eq!(state.sweep(now + Duration::from_millis(30)), None);
        assert_eq!(rx.try_recv().ok().as_deref(), Some("c"));
        assert!(state.entries.is_empty() && state.deadlines.is_empty());
    }

    #[tokio::test]
    async fn a_heartbeat_after_an_unswept_lapse_still_reports_it() {
        let presence = MemoryPresence::new();
        let mut expirations = presence.expirations();
        presence
            .heartbeat(&beat("sess_a"), Duration::ZERO)
            .await
            .unwrap();
        // On this current-thread runtime the sweeper cannot run before the next line.
        presence
            .heartbeat(&beat("sess_a"), Duration::from_secs(30))
            .await
            .unwrap();
        let id = tokio::time::timeout(Duration::from_millis(500), expirations.next())
            .await
            .unwrap();
        assert_eq!(id.as_deref(), Some("sess_a"));
        assert!(presence.is_alive("sess_a").await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            futures_util::FutureExt::now_or_never(expirations.next()).is_none(),
            "one lapse, one expiration"
        );
    }

    #[tokio::test]
    async fn dropping_the_store_ends_expiration_streams() {
        let presence = MemoryPresence::new();
        let mut expirations = presence.expirations();
        drop(presence);
        let end = tokio::time::timeout(Duration::from_secs(1), expirations.next())
            .await
            .unwrap();
        assert_eq!(end, None);
    }
}
