//! [`MemoryEventLog`]: one bounded ring of events per project, in this process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use maestro_domain::DomainEvent;
use maestro_domain::Result;
use maestro_domain::ports::{EventId, EventLog, Gap, LoggedEvent, Replay, Retention};

/// An [`EventLog`] in memory: a ring of at most `max_len` events per project, dropping events
/// older than `max_age` when it is written or read.
///
/// Ids are `<ms>-<seq>` from the system clock, kept increasing when the clock steps back (the
/// last `ms` is reused with a greater `seq`). The log starts empty with every process, so an
/// id from before a restart is unknown: the client is told to take a snapshot.
#[derive(Debug)]
pub struct MemoryEventLog {
    retention: Retention,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    last: Option<EventId>,
    projects: HashMap<String, VecDeque<LoggedEvent>>,
}

impl MemoryEventLog {
    pub fn new(retention: Retention) -> Self {
        Self {
            retention: Retention {
                max_len: retention.max_len.max(1),
                max_age: retention.max_age,
            },
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// Drops the entries of `ring` older than the retention age.
    fn expire(&self, ring: &mut VecDeque<LoggedEvent>, now_ms: u64) {
        let age = u64::try_from(self.retention.max_age.as_millis()).unwrap_or(u64::MAX);
        let oldest_kept = now_ms.saturating_sub(age);
        while ring.front().is_some_and(|e| e.id.ms() < oldest_kept) {
            ring.pop_front();
        }
    }
}

impl Default for MemoryEventLog {
    fn default() -> Self {
        Self::new(Retention::default())
    }
}

#[async_trait]
impl EventLog for MemoryEventLog {
    async fn append(&self, project_id: &str, event: &DomainEvent) -> Result<EventId> {
        let now = Self::now_ms();
        let mut inner = self.lock();
        let id = match &inner.last {
            Some(last) if last.ms() >= now => EventId::new(last.ms(), last.seq() + 1),
            _ => EventId::new(now, 0),
        };
        inner.last = Some(id.clone());
        let ring = inner.projects.entry(project_id.to_string()).or_default();
        ring.push_back(LoggedEvent {
            id: id.clone(),
            event: event.clone(),
        });
        while ring.len() > self.retention.max_len {
            ring.pop_front();
        }
        self.expire(ring, now);
        Ok(id)
    }

    async fn read_after(&self, project_id: &str, since: &EventId, max: usize) -> Result<Replay> {
        let now = Self::now_ms();
        let mut inner = self.lock();
        let Some(ring) = inner.projects.get_mut(project_id) else {
            return Ok(Replay::Gap(Gap::Unknown));
        };
        self.expire(ring, now);
        // Ids are increasing along the ring.
        let Ok(at) = ring.binary_search_by(|e| e.id.cmp(since)) else {
            return Ok(Replay::Gap(Gap::Unknown));
        };
        let after = ring.len() - at - 1;
        if after > max {
            return Ok(Replay::Gap(Gap::TooMany));
        }
        Ok(Replay::Events(ring.iter().skip(at + 1).cloned().collect()))
    }

    async fn latest(&self, project_id: &str) -> Result<Option<EventId>> {
        let now = Self::now_ms();
        let mut inner = self.lock();
        Ok(inner.projects.get_mut(project_id).and_then(|ring| {
            self.expire(ring, now);
            ring.back().map(|e| e.id.clone())
        }))
    }
}
