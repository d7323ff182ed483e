//! The event bus decorators the server wires (the HTTP edge's cache invalidation, the
//! domain's Web Push offer) pass the same contract suite as the bus they wrap.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use maestro_domain::ports::EventBus;
use maestro_http::cache::{InvalidatingBus, ListCache};
use maestro_memory::MemoryEventBus;

const BUS_CAPACITY: usize = 64;

/// `InvalidatingBus` (drops cached task listings on every event) over the in-memory bus.
mod invalidating_bus {
    use super::*;

    maestro_testkit::event_bus_contract!(
        || async {
            Arc::new(InvalidatingBus::new(
                Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY)),
                Arc::new(ListCache::new()),
            )) as Arc<dyn EventBus>
        },
        capacity = BUS_CAPACITY
    );
}

/// `PushingBus` (offers each published event to Web Push, then publishes it) over the
/// in-memory bus, with its sender loop running and no device subscribed.
mod pushing_bus {
    use super::*;
    use maestro_domain::ids::SystemClock;
    use maestro_domain::services::{PushPorts, PushService, PushingBus, RetryPolicy};

    fn push() -> PushService {
        let (push, dispatcher) = PushService::new(
            PushPorts {
                subscriptions: Arc::new(maestro_memory::MemoryPushSubscriptionRepo::new()),
                sender: Arc::new(
                    maestro_webpush::WebPushSender::new(
                        maestro_webpush::VapidKeys::generate().unwrap(),
                        maestro_webpush::WebPushConfig::default(),
                    )
                    .unwrap(),
                ),
                sessions: Arc::new(maestro_memory::MemorySessionRepo::new()),
                members: None,
                api_keys: None,
                clock: Arc::new(SystemClock),
            },
            RetryPolicy::default(),
        );
        tokio::spawn(dispatcher.run());
        push
    }

    maestro_testkit::event_bus_contract!(
        || async {
            Arc::new(PushingBus::new(
                Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY)),
                push(),
            )) as Arc<dyn EventBus>
        },
        capacity = BUS_CAPACITY
    );
}
