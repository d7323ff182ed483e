//! The `maestro-testkit` contract suites against a real Redis (one fresh key prefix per case).
//! Without Redis: fails under `CI`, else each case says loudly that it was skipped and runs
//! nothing (never another adapter in Redis's place).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use maestro_domain::ports::{EventBus, Lock, MailRepo, Presence};

const BUS_CAPACITY: usize = 64;

async fn backend(capacity: usize) -> Option<maestro_redis::RedisBackend> {
    let url = common::redis_url()?;
    let mut config = common::config(&url, &common::unique_prefix());
    config.bus_capacity = capacity;
    Some(common::backend_with(config).await)
}

async fn bus() -> Option<Arc<dyn EventBus>> {
    Some(backend(BUS_CAPACITY).await?.bus())
}

async fn presence() -> Option<Arc<dyn Presence>> {
    Some(backend(BUS_CAPACITY).await?.presence())
}

async fn lock() -> Option<Arc<dyn Lock>> {
    Some(backend(BUS_CAPACITY).await?.lock())
}

async fn idempotency() -> Option<Arc<dyn maestro_domain::ports::IdempotencyStore>> {
    Some(backend(BUS_CAPACITY).await?.idempotency())
}

async fn mail() -> Option<Arc<dyn MailRepo>> {
    Some(backend(BUS_CAPACITY).await?.mail())
}

/// Each `open` connects another backend on the case's prefix, as another process would.
async fn event_logs() -> Option<maestro_testkit::event_log::EventLogFixture> {
    let url = common::redis_url()?;
    let prefix = common::unique_prefix();
    Some(maestro_testkit::event_log::EventLogFixture(Arc::new(
        move |retention| {
            let mut config = common::config(&url, &prefix);
            config.event_log = retention;
            Box::pin(async move { common::backend_with(config).await.event_log() })
        },
    )))
}

maestro_testkit::event_bus_contract!(|| async { crate::bus().await }, capacity = BUS_CAPACITY);
maestro_testkit::presence_contract!(|| async { crate::presence().await });
maestro_testkit::lock_contract!(|| async { crate::lock().await });
maestro_testkit::idempotency_contract!(|| async { crate::idempotency().await });
maestro_testkit::mail_repo_contract!(|| async { crate::mail().await });
maestro_testkit::event_log_contract!(|| async { crate::event_logs().await });

/// Memory repositories for the rest; Redis mail and bus under the long-poll.
async fn wait_ports() -> Option<maestro_domain::services::Ports> {
    let b = backend(1024).await?;
    let (mail, bus) = (b.mail(), b.bus());
    Some(maestro_domain::services::Ports {
        projects: Arc::new(maestro_memory::MemoryProjectRepo::new()),
        tasks: Arc::new(maestro_memory::MemoryTaskRepo::new()),
        sessions: Arc::new(maestro_memory::MemorySessionRepo::new()),
        mail,
        team_members: Arc::new(maestro_memory::MemoryTeamMemberRepo::new()),
        orderings: Arc::new(maestro_memory::MemoryOrderingRepo::new()),
        bus,
        clock: Arc::new(maestro_domain::ids::SystemClock),
        ids: Arc::new(maestro_domain::ids::RandomIds),
    })
}

maestro_testkit::mail_wait_contract!(|| async { crate::wait_ports().await });
