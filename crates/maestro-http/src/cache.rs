//! A cache of serialised task listings (`GET /api/tasks?…`), the heaviest read of the API.
//!
//! Invalidation is by generation: every event published on this process bumps the generation
//! of its project **synchronously, inside `publish`** ([`InvalidatingBus`]), and use cases
//! publish after their write and before they answer, so a client never reads a listing older
//! than its own write. A listing is stored only if its project's generation did not move
//! while it was being built. Events from other processes (a distributed bus) invalidate when
//! they arrive. Only unrestricted principals use the cache (users' listings depend on RLS).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use axum::body::Bytes;
use futures_util::StreamExt;
use maestro_domain::Result;
use maestro_domain::ports::{BoxStream, BusEvent, BusMessage, EventBus};

/// Most cached listings; the cache is emptied when it would grow past this.
pub const MAX_ENTRIES: usize = 512;

/// A listing and the (global, project) generation it was built at.
type Entry = (u64, u64, Bytes);

/// Serialised listings keyed by project and query.
#[derive(Debug, Default)]
pub struct ListCache {
    /// Bumped for events without a project (and on lag): invalidates everything.
    global: AtomicU64,
    generations: Mutex<HashMap<String, u64>>,
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl ListCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current generation of a project (with the global one).
    pub fn generation(&self, project_id: &str) -> (u64, u64) {
        let g = self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(project_id)
            .copied()
            .unwrap_or(0);
        (self.global.load(Ordering::SeqCst), g)
    }

    /// Marks everything of `project_id` (or, for `None`, everything) stale.
    pub fn invalidate(&self, project_id: Option<&str>) {
        match project_id {
            Some(p) => {
                *self
                    .generations
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(p.to_string())
                    .or_insert(0) += 1;
            }
            None => {
                self.global.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// A cached listing, if still current.
    pub fn get(&self, project_id: &str, query: &str) -> Option<Bytes> {
        let (global, g) = self.generation(project_id);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(project_id.to_string(), query.to_string()))
            .filter(|(eg, pg, _)| *eg == global && *pg == g)
            .map(|(_, _, b)| b.clone())
    }

    /// Stores a listing built while the generation was `seen` (dropped if it moved since).
    pub fn put(&self, project_id: &str, query: &str, seen: (u64, u64), body: Bytes) {
        if self.generation(project_id) != seen {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (project_id.to_string(), query.to_string()),
            (seen.0, seen.1, body),
        );
    }
}

/// An event bus that invalidates a [`ListCache`] for every event: synchronously for events
/// published here, as they arrive for events of other processes.
pub struct InvalidatingBus {
    inner: std::sync::Arc<dyn EventBus>,
    cache: std::sync::Arc<ListCache>,
}

impl InvalidatingBus {
    /// Wraps `inner`; spawns a task that invalidates for events from other processes.
    pub fn new(inner: std::sync::Arc<dyn EventBus>, cache: std::sync::Arc<ListCache>) -> Self {
        let mut events = inner.subscribe();
        let remote_cache = cache.clone();
        tokio::spawn(async move {
            while let Some(msg) = events.next().await {
                match msg {
                    BusMessage::Event(e) => remote_cache.invalidate(e.project_id()),
                    BusMessage::Lagged(_) => remote_cache.invalidate(None),
                }
            }
        });
        Self { inner, cache }
    }
}

#[async_trait]
impl EventBus for InvalidatingBus {
    async fn publish_event(&self, event: BusEvent) -> Result<()> {
        self.cache.invalidate(event.project_id());
        self.inner.publish_event(event).await
    }

    fn subscribe(&self) -> BoxStream<BusMessage> {
        self.inner.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The write's own event invalidates before `publish` returns, not when a subscriber task
    /// gets round to it (on this current-thread runtime that task has not run yet).
    #[tokio::test(flavor = "current_thread")]
    async fn publish_invalidates_synchronously() {
        let cache = std::sync::Arc::new(ListCache::new());
        let bus = InvalidatingBus::new(
            std::sync::Arc::new(maestro_memory::MemoryEventBus::new()),
            cache.clone(),
        );
        let seen = cache.generation("p1");
        cache.put("p1", "q", seen, Bytes::from_static(b"[]"));
        assert!(cache.get("p1", "q").is_some());
        bus.publish(maestro_domain::DomainEvent::TaskDeleted(
            maestro_domain::events::Deleted {
                id: "t".into(),
                project_id: Some("p1".into()),
            },
        ))
        .await
        .unwrap();
        assert!(
            cache.get("p1", "q").is_none(),
            "stale listing served after a write"
        );
    }

    #[test]
    fn entries_die_with_their_generation() {
        let c = ListCache::new();
        let seen = c.generation("p");
        c.put("p", "q", seen, Bytes::from_static(b"[1]"));
        assert_eq!(c.get("p", "q").as_deref(), Some(&b"[1]"[..]));
        c.invalidate(Some("other"));
        assert!(c.get("p", "q").is_some());
        c.invalidate(Some("p"));
        assert!(c.get("p", "q").is_none());
        let seen = c.generation("p");
        c.invalidate(None);
        c.put("p", "q", seen, Bytes::from_static(b"[2]"));
        assert!(
            c.get("p", "q").is_none(),
            "built before an invalidation: not stored"
        );
    }
}
