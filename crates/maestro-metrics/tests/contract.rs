//! The decorators forward faithfully: the metered in-memory adapters pass the same contract
//! suites as the bare ones.

use std::sync::Arc;

use maestro_domain::ports::{
    ApiKeyRepo, EventBus, Lock, MailRepo, MemberRepo, OrderingRepo, Presence, ProjectRepo,
    SessionRepo, TaskRepo, TeamMemberRepo,
};
use maestro_memory::{
    MemoryEventBus, MemoryLock, MemoryMailRepo, MemoryOrderingRepo, MemoryPresence,
    MemoryProjectRepo, MemorySessionRepo, MemoryTaskRepo, MemoryTeamMemberRepo,
};
use maestro_metrics::{MeteredBus, MeteredLock, MeteredPresence, MeteredRepo};

const BUS_CAPACITY: usize = 64;
const ADAPTER: &str = "memory";

maestro_testkit::event_bus_contract!(
    || async {
        MeteredBus::wrap(Arc::new(MemoryEventBus::with_capacity(BUS_CAPACITY))) as Arc<dyn EventBus>
    },
    capacity = BUS_CAPACITY
);

maestro_testkit::project_repo_contract!(|| async {
    let inner: Arc<dyn ProjectRepo> = Arc::new(MemoryProjectRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "project") as Arc<dyn ProjectRepo>
});

maestro_testkit::task_repo_contract!(|| async {
    let inner: Arc<dyn TaskRepo> = Arc::new(MemoryTaskRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "task") as Arc<dyn TaskRepo>
});

maestro_testkit::session_repo_contract!(|| async {
    let inner: Arc<dyn SessionRepo> = Arc::new(MemorySessionRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "session") as Arc<dyn SessionRepo>
});

maestro_testkit::mail_repo_contract!(|| async {
    let inner: Arc<dyn MailRepo> = Arc::new(MemoryMailRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "mail") as Arc<dyn MailRepo>
});

maestro_testkit::team_member_repo_contract!(|| async {
    let inner: Arc<dyn TeamMemberRepo> = Arc::new(MemoryTeamMemberRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "team_member") as Arc<dyn TeamMemberRepo>
});

maestro_testkit::ordering_repo_contract!(|| async {
    let inner: Arc<dyn OrderingRepo> = Arc::new(MemoryOrderingRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "ordering") as Arc<dyn OrderingRepo>
});

maestro_testkit::presence_contract!(|| async {
    MeteredPresence::wrap(Arc::new(MemoryPresence::new())) as Arc<dyn Presence>
});

maestro_testkit::lock_contract!(|| async {
    MeteredLock::wrap(Arc::new(MemoryLock::new())) as Arc<dyn Lock>
});

async fn member_fixture() -> maestro_testkit::member_repo::MemberFixture {
    let repo = maestro_memory::MemoryMemberRepo::new();
    let users = maestro_testkit::member_repo::new_users(3);
    for u in &users {
        repo.add_user(u.clone());
    }
    let inner: Arc<dyn MemberRepo> = Arc::new(repo);
    maestro_testkit::member_repo::MemberFixture {
        repo: MeteredRepo::wrap(inner, ADAPTER, "member"),
        project_id: maestro_testkit::fixtures::unique_id("proj"),
        users,
    }
}

maestro_testkit::member_repo_contract!(member_fixture);

maestro_testkit::api_key_repo_contract!(|| async {
    let inner: Arc<dyn ApiKeyRepo> = Arc::new(maestro_memory::MemoryApiKeyRepo::new());
    maestro_testkit::api_key_repo::ApiKeyFixture {
        repo: MeteredRepo::wrap(inner, ADAPTER, "api_key"),
        projects: [
            maestro_testkit::fixtures::unique_id("proj"),
            maestro_testkit::fixtures::unique_id("proj"),
        ],
    }
});

/// The mail long-poll on the metered mail repository and bus.
async fn wait_ports() -> maestro_domain::services::Ports {
    let mut repos = maestro_memory::repositories();
    repos.mail = MeteredRepo::wrap(repos.mail, ADAPTER, "mail") as Arc<dyn MailRepo>;
    maestro_domain::services::Ports::new(
        repos,
        MeteredBus::wrap(Arc::new(MemoryEventBus::new())) as Arc<dyn EventBus>,
        Arc::new(maestro_domain::ids::SystemClock),
        Arc::new(maestro_domain::ids::RandomIds),
    )
}

maestro_testkit::mail_wait_contract!(|| async { crate::wait_ports().await });

maestro_testkit::push_subscription_repo_contract!(|| async {
    let inner: Arc<dyn maestro_domain::ports::PushSubscriptionRepo> =
        Arc::new(maestro_memory::MemoryPushSubscriptionRepo::new());
    MeteredRepo::wrap(inner, ADAPTER, "push_subscription")
});
