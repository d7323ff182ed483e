//! The `maestro-testkit` contract suites, run against every in-memory adapter.

use std::sync::Arc;

use maestro_domain::ports::{
    EventBus, EventLog, MailRepo, OrderingRepo, Presence, ProjectRepo, Retention, SessionRepo,
    TaskRepo, TeamMemberRepo,
};
use maestro_memory::{
    MemoryEventBus, MemoryEventLog, MemoryLock, MemoryMailRepo, MemoryOrderingRepo, MemoryPresence,
    MemoryProjectRepo, MemorySessionRepo, MemoryTaskRepo, MemoryTeamMemberRepo,
};

const BUS_CAPACITY: usize = 64;

maestro_testkit::event_bus_contract!(
    || async { Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY)) as Arc<dyn EventBus> },
    capacity = BUS_CAPACITY
);

mod default_capacity {
    use super::*;

    maestro_testkit::event_bus_contract!(
        || async { Arc::new(MemoryEventBus::new()) as Arc<dyn EventBus> },
        capacity = maestro_memory::DEFAULT_CAPACITY
    );
}

/// The `LoggedBus` decorator (each project event logged, then published with its id) passes
/// the same bus contract as the bus it wraps.
mod logged_bus {
    use super::*;

    maestro_testkit::event_bus_contract!(
        || async {
            Arc::new(maestro_domain::services::LoggedBus::new(
                Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY)),
                Arc::new(MemoryEventLog::new(Retention::default())),
            )) as Arc<dyn EventBus>
        },
        capacity = BUS_CAPACITY
    );
}

maestro_testkit::project_repo_contract!(|| async {
    Arc::new(MemoryProjectRepo::new()) as Arc<dyn ProjectRepo>
});

maestro_testkit::task_repo_contract!(|| async {
    Arc::new(MemoryTaskRepo::new()) as Arc<dyn TaskRepo>
});

maestro_testkit::session_repo_contract!(|| async {
    Arc::new(MemorySessionRepo::new()) as Arc<dyn SessionRepo>
});

maestro_testkit::mail_repo_contract!(|| async {
    Arc::new(MemoryMailRepo::new()) as Arc<dyn MailRepo>
});

maestro_testkit::team_member_repo_contract!(|| async {
    Arc::new(MemoryTeamMemberRepo::new()) as Arc<dyn TeamMemberRepo>
});

maestro_testkit::ordering_repo_contract!(|| async {
    Arc::new(MemoryOrderingRepo::new()) as Arc<dyn OrderingRepo>
});

maestro_testkit::presence_contract!(|| async {
    Arc::new(MemoryPresence::new()) as Arc<dyn Presence>
});

// A factory may also return the concrete adapter; it is coerced to the port.
maestro_testkit::lock_contract!(|| async { Arc::new(MemoryLock::new()) });
maestro_testkit::idempotency_contract!(|| async {
    Arc::new(maestro_memory::MemoryIdempotency::new())
});

/// Every port in memory, for the mail long-poll contract.
async fn wait_ports() -> maestro_domain::services::Ports {
    maestro_domain::services::Ports::new(
        maestro_memory::repositories(),
        Arc::new(MemoryEventBus::new()),
        Arc::new(maestro_domain::ids::SystemClock),
        Arc::new(maestro_domain::ids::RandomIds),
    )
}

maestro_testkit::mail_wait_contract!(|| async { crate::wait_ports().await });

/// A memory member store with three registered users and an (implicit) empty project.
async fn member_fixture() -> maestro_testkit::member_repo::MemberFixture {
    let repo = maestro_memory::MemoryMemberRepo::new();
    let users = maestro_testkit::member_repo::new_users(3);
    for u in &users {
        repo.add_user(u.clone());
    }
    maestro_testkit::member_repo::MemberFixture {
        repo: Arc::new(repo),
        project_id: maestro_testkit::fixtures::unique_id("proj"),
        users,
    }
}

maestro_testkit::member_repo_contract!(member_fixture);

maestro_testkit::api_key_repo_contract!(|| async {
    maestro_testkit::api_key_repo::ApiKeyFixture {
        repo: Arc::new(maestro_memory::MemoryApiKeyRepo::new()),
        projects: [
            maestro_testkit::fixtures::unique_id("proj"),
            maestro_testkit::fixtures::unique_id("proj"),
        ],
    }
});

/// One in-memory log per retention, shared by every "process" a case opens (it has one).
fn memory_log(retention: Retention) -> Arc<dyn EventLog> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Logs = Mutex<HashMap<(usize, u128), Arc<MemoryEventLog>>>;
    static LOGS: OnceLock<Logs> = OnceLock::new();
    let mut logs = LOGS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    logs.entry((retention.max_len, retention.max_age.as_millis()))
        .or_insert_with(|| Arc::new(MemoryEventLog::new(retention)))
        .clone()
}

maestro_testkit::event_log_contract!(|| async {
    maestro_testkit::event_log::EventLogFixture(Arc::new(|r| {
        Box::pin(async move { memory_log(r) })
    }))
});

maestro_testkit::push_subscription_repo_contract!(|| async {
    Arc::new(maestro_memory::MemoryPushSubscriptionRepo::new())
});
