//! [`MemoryEventBus`]: publish/subscribe within one process.

use std::sync::Arc;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::ports::{BoxStream, BusEvent, BusMessage, EventBus};
use tokio::sync::broadcast::{self, error::RecvError};

/// Buffer size per subscriber of [`MemoryEventBus::new`].
pub const DEFAULT_CAPACITY: usize = 1024;

/// Largest buffer accepted (tokio's broadcast refuses more than `usize::MAX / 2`).
const MAX_CAPACITY: usize = 1 << 24;

/// An [`EventBus`] over a bounded tokio broadcast channel.
///
/// - `publish` is synchronous underneath: when it returns, the event is in the buffer every
///   current subscriber reads from. With no subscriber it is dropped and `publish` is `Ok`.
/// - Each subscriber can fall `capacity` events behind; past that it loses the oldest ones and
///   its stream yields [`BusMessage::Lagged`] with the number lost, then carries on with the
///   oldest event still buffered.
/// - Dropping a subscription stream unsubscribes it.
#[derive(Debug)]
pub struct MemoryEventBus {
    sender: broadcast::Sender<Arc<BusEvent>>,
    capacity: usize,
}

impl MemoryEventBus {
    /// A bus buffering [`DEFAULT_CAPACITY`] events per subscriber.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A bus buffering `capacity` events per subscriber (clamped to `1..=2^24`).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        let (sender, _) = broadcast::channel(capacity);
        Self { sender, capacity }
    }

    /// Events a subscriber may fall behind before it lags.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of live subscriptions.
    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Default for MemoryEventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventBus for MemoryEventBus {
    async fn publish_event(&self, event: BusEvent) -> Result<()> {
        let name = event.name();
        match self.sender.send(Arc::new(event)) {
            Ok(receivers) => tracing::trace!(event = name, receivers, "event published"),
            Err(_) => tracing::trace!(event = name, "event published with no subscriber"),
        }
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<BusMessage> {
        let receiver = self.sender.subscribe();
        Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move {
                match receiver.recv().await {
                    Ok(event) => Some((BusMessage::Event(event), receiver)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "event bus subscriber lagged");
                        Some((BusMessage::Lagged(missed), receiver))
                    }
                    Err(RecvError::Closed) => None,
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use maestro_domain::DomainEvent;
    use maestro_domain::events::Deleted;

    use super::*;

    fn deleted(id: &str) -> DomainEvent {
        DomainEvent::MailDeleted(Deleted {
            id: id.to_owned(),
            project_id: None,
        })
    }

    #[test]
    fn capacity_is_clamped() {
        assert_eq!(MemoryEventBus::with_capacity(0).capacity(), 1);
        assert_eq!(MemoryEventBus::new().capacity(), DEFAULT_CAPACITY);
        assert_eq!(
            MemoryEventBus::with_capacity(usize::MAX).capacity(),
            MAX_CAPACITY
        );
    }

    #[tokio::test]
    async fn lag_is_counted_exactly_and_dropping_unsubscribes() {
        let bus = MemoryEventBus::with_capacity(4);
        let mut sub = bus.subscribe();
        assert_eq!(bus.subscriber_count(), 1);
        for i in 0..10 {
            bus.publish(deleted(&i.to_string())).await.unwrap();
        }
        assert_eq!(sub.next().await, Some(BusMessage::Lagged(6)));
        for i in 6..10 {
            assert_eq!(
                sub.next().await,
                Some(BusMessage::Event(Arc::new(BusEvent::unlogged(deleted(
                    &i.to_string()
                )))))
            );
        }
        drop(sub);
        assert_eq!(bus.subscriber_count(), 0);
        bus.publish(deleted("x")).await.unwrap();
    }

    #[tokio::test]
    async fn streams_end_when_the_bus_is_dropped() {
        let bus = MemoryEventBus::new();
        let mut sub = bus.subscribe();
        bus.publish(deleted("last")).await.unwrap();
        drop(bus);
        assert!(matches!(sub.next().await, Some(BusMessage::Event(_))));
        assert_eq!(sub.next().await, None);
    }
}
