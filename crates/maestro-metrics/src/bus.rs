//! [`MeteredBus`]: counts every event published through it.

use std::sync::Arc;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::events::DomainEvent;
use maestro_domain::ports::{BoxStream, BusEvent, BusMessage, EventBus};

use crate::names;

/// An [`EventBus`] that counts `maestro_events_published_total{event}` for each event
/// published through it (whether or not the inner bus accepted it is the inner bus's
/// answer, returned untouched; only accepted events are counted).
pub struct MeteredBus {
    inner: Arc<dyn EventBus>,
}

impl MeteredBus {
    pub fn wrap(inner: Arc<dyn EventBus>) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

fn count(event: &'static str) {
    metrics::counter!(names::EVENTS_PUBLISHED, "event" => event).increment(1);
}

#[async_trait]
impl EventBus for MeteredBus {
    async fn publish_event(&self, event: BusEvent) -> Result<()> {
        let name = event.event.name();
        self.inner.publish_event(event).await?;
        count(name);
        Ok(())
    }

    async fn publish(&self, event: DomainEvent) -> Result<()> {
        let name = event.name();
        self.inner.publish(event).await?;
        count(name);
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<BusMessage> {
        self.inner.subscribe()
    }
}
