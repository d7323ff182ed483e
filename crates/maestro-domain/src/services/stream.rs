//! Resumable event streams: [`LoggedBus`] gives every project event an id in its project's
//! [`EventLog`] before it is published, and [`EventStream`] answers "what came after this id"
//! for a client that reconnects.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::events::DomainEvent;
use crate::ports::{BoxStream, BusEvent, BusMessage, EventBus, EventId, EventLog, Replay};

/// Most events one replay carries; a client that missed more takes a full snapshot. A replay
/// is queued on the socket at once, so this also sizes the per-socket send buffer.
pub const MAX_REPLAY: usize = 256;

/// Stripes of [`KeyedLocks`] (keys hash onto them).
const STRIPES: usize = 64;

/// Async locks by key, striped (keys hash onto a fixed set of mutexes): what orders one
/// project's events, here while they are logged and published, and in the HTTP bridge while
/// a resuming socket gets its replay. Two keys may share a stripe; that only serialises them.
pub struct KeyedLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for KeyedLocks {
    fn default() -> Self {
        Self((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl KeyedLocks {
    /// Waits for the lock of `key`.
    pub async fn lock(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        self.0[(h.finish() % STRIPES as u64) as usize].lock().await
    }
}

/// An [`EventBus`] decorator: each event of a project is appended to the project's log and
/// published with the id it got there. Appending and publishing happen under a per-project
/// lock, so within one process the bus delivers a project's events in id order.
///
/// If the log cannot be written (its backend is down), the event is still published, without
/// an id, and the failure is logged: live clients get it, and a client that needs to resume
/// past it is told to take a snapshot ([`crate::ports::Gap`]), since the log lacks it.
pub struct LoggedBus {
    inner: Arc<dyn EventBus>,
    log: Arc<dyn EventLog>,
    order: KeyedLocks,
}

impl LoggedBus {
    pub fn new(inner: Arc<dyn EventBus>, log: Arc<dyn EventLog>) -> Self {
        Self {
            inner,
            log,
            order: KeyedLocks::default(),
        }
    }
}

#[async_trait]
impl EventBus for LoggedBus {
    async fn publish_event(&self, event: BusEvent) -> Result<()> {
        if event.id.is_some() {
            return self.inner.publish_event(event).await;
        }
        self.publish(event.event).await
    }

    async fn publish(&self, event: DomainEvent) -> Result<()> {
        let Some(project) = event.project_id().map(str::to_string) else {
            return self.inner.publish_event(BusEvent::unlogged(event)).await;
        };
        let _order = self.order.lock(&project).await;
        let id = match self.log.append(&project, &event).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(
                    project = %project,
                    event = event.name(),
                    error = %e,
                    "event log append failed; the event is published without an id \
                     (clients resuming past it will take a full snapshot)"
                );
                None
            }
        };
        self.inner.publish_event(BusEvent { event, id }).await
    }

    fn subscribe(&self) -> BoxStream<BusMessage> {
        self.inner.subscribe()
    }
}

/// The resume use case: what a project's clients missed.
#[derive(Clone)]
pub struct EventStream {
    log: Arc<dyn EventLog>,
}

impl EventStream {
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self { log }
    }

    /// The events of `project_id` after `since` ([`MAX_REPLAY`] at most), or a gap. The
    /// caller has checked that its principal may read the project.
    pub async fn replay(&self, project_id: &str, since: &EventId) -> Result<Replay> {
        self.log.read_after(project_id, since, MAX_REPLAY).await
    }

    /// The newest id of `project_id`'s log. Read it *before* a snapshot: resuming from it may
    /// repeat events the snapshot already shows, but never misses one.
    pub async fn latest(&self, project_id: &str) -> Result<Option<EventId>> {
        self.log.latest(project_id).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::events::Deleted;
    use crate::ports::{MockEventBus, MockEventLog};

    fn deleted(project: Option<&str>) -> DomainEvent {
        DomainEvent::TaskDeleted(Deleted {
            id: "t".into(),
            project_id: project.map(str::to_string),
        })
    }

    fn recording_bus(seen: Arc<Mutex<Vec<BusEvent>>>) -> MockEventBus {
        let mut bus = MockEventBus::new();
        bus.expect_publish_event().returning(move |e| {
            seen.lock().unwrap().push(e);
            Ok(())
        });
        bus
    }

    #[tokio::test]
    async fn a_project_event_is_published_with_the_id_the_log_gave_it() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut log = MockEventLog::new();
        log.expect_append()
            .withf(|p, _| p == "p1")
            .times(1)
            .returning(|_, _| Ok(EventId::new(7, 1)));
        let bus = LoggedBus::new(Arc::new(recording_bus(seen.clone())), Arc::new(log));
        bus.publish(deleted(Some("p1"))).await.unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].id, Some(EventId::new(7, 1)));
        assert_eq!(seen[0].event, deleted(Some("p1")));
    }

    #[tokio::test]
    async fn an_event_without_a_project_is_not_logged() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut log = MockEventLog::new();
        log.expect_append().never();
        let bus = LoggedBus::new(Arc::new(recording_bus(seen.clone())), Arc::new(log));
        bus.publish(deleted(None)).await.unwrap();
        assert_eq!(seen.lock().unwrap()[0].id, None);
    }

    #[tokio::test]
    async fn a_failing_log_still_publishes_the_event_without_an_id() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut log = MockEventLog::new();
        log.expect_append()
            .returning(|_, _| Err(crate::DomainError::Unavailable("redis down".into())));
        let bus = LoggedBus::new(Arc::new(recording_bus(seen.clone())), Arc::new(log));
        bus.publish(deleted(Some("p1"))).await.unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].id, None);
    }

    #[tokio::test]
    async fn an_event_that_has_an_id_is_not_logged_twice() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut log = MockEventLog::new();
        log.expect_append().never();
        let bus = LoggedBus::new(Arc::new(recording_bus(seen.clone())), Arc::new(log));
        let stamped = BusEvent {
            event: deleted(Some("p1")),
            id: Some(EventId::new(3, 0)),
        };
        bus.publish_event(stamped.clone()).await.unwrap();
        assert_eq!(seen.lock().unwrap()[0], stamped);
    }

    #[tokio::test]
    async fn replay_asks_the_log_for_at_most_max_replay_events() {
        let mut log = MockEventLog::new();
        log.expect_read_after()
            .withf(|p, since, max| p == "p1" && *since == EventId::new(1, 0) && *max == MAX_REPLAY)
            .times(1)
            .returning(|_, _, _| Ok(Replay::Events(Vec::new())));
        let stream = EventStream::new(Arc::new(log));
        assert_eq!(
            stream.replay("p1", &EventId::new(1, 0)).await.unwrap(),
            Replay::Events(Vec::new())
        );
    }
}
