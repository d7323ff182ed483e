//! The `maestro-testkit` contract suites against a real Redis (one fresh key prefix per case).
//! Without Redis: fails under `CI`, else each case says loudly that it ran against the
//! in-memory adapter instead.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use maestro_domain::ports::{EventBus, Lock, MailRepo, Presence};
use maestro_memory::{MemoryEventBus, MemoryLock, MemoryMailRepo, MemoryPresence};

const BUS_CAPACITY: usize = 64;

async fn backend(capacity: usize) -> Option<maestro_redis::RedisBackend> {
    let url = common::redis_url()?;
    let mut config = common::config(&url, &common::unique_prefix());
    config.bus_capacity = capacity;
    Some(common::backend_with(config).await)
}

async fn bus() -> Arc<dyn EventBus> {
    match backend(BUS_CAPACITY).await {
        Some(b) => b.bus(),
        None => Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY)),
    }
}

async fn presence() -> Arc<dyn Presence> {
    match backend(BUS_CAPACITY).await {
        Some(b) => b.presence(),
        None => Arc::new(MemoryPresence::new()),
    }
}

async fn lock() -> Arc<dyn Lock> {
    match backend(BUS_CAPACITY).await {
        Some(b) => b.lock(),
        None => Arc::new(MemoryLock::new()),
    }
}

async fn mail() -> Arc<dyn MailRepo> {
    match backend(BUS_CAPACITY).await {
        Some(b) => b.mail(),
        None => Arc::new(MemoryMailRepo::new()),
    }
}

maestro_testkit::event_bus_contract!(|| async { crate::bus().await }, capacity = BUS_CAPACITY);
maestro_testkit::presence_contract!(|| async { crate::presence().await });
maestro_testkit::lock_contract!(|| async { crate::lock().await });
maestro_testkit::mail_repo_contract!(|| async { crate::mail().await });

/// Memory repositories for the rest; Redis mail and bus under the long-poll.
async fn wait_ports() -> maestro_domain::services::Ports {
    let (mail, bus): (Arc<dyn MailRepo>, Arc<dyn EventBus>) = match backend(1024).await {
        Some(b) => (b.mail(), b.bus()),
        None => (
            Arc::new(MemoryMailRepo::new()),
            Arc::new(MemoryEventBus::new()),
        ),
    };
    maestro_domain::services::Ports {
        projects: Arc::new(maestro_memory::MemoryProjectRepo::new()),
        tasks: Arc::new(maestro_memory::MemoryTaskRepo::new()),
        sessions: Arc::new(maestro_memory::MemorySessionRepo::new()),
        mail,
        team_members: Arc::new(maestro_memory::MemoryTeamMemberRepo::new()),
        orderings: Arc::new(maestro_memory::MemoryOrderingRepo::new()),
        bus,
        clock: Arc::new(maestro_domain::ids::SystemClock),
        ids: Arc::new(maestro_domain::ids::RandomIds),
    }
}

maestro_testkit::mail_wait_contract!(|| async { crate::wait_ports().await });
