//! The HTTP edge's port decorators pass the same contract suites as what they wrap.

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
