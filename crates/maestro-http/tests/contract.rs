//! The event bus decorators the server wires (the HTTP edge's cache invalidation, the
//! domain's Web Push offer) pass the same contract suite as the bus they wrap.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

mod common;

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
    use maestro_domain::services::PushingBus;

    maestro_testkit::event_bus_contract!(
        || async {
            let (push, dispatcher) = crate::common::push_service(
                Arc::new(maestro_memory::MemorySessionRepo::new()),
                None,
            );
            tokio::spawn(dispatcher.run());
            Arc::new(PushingBus::new(
                Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY)),
                push,
            )) as Arc<dyn EventBus>
        },
        capacity = BUS_CAPACITY
    );
}
