//! # maestro-memory
//!
//! In-memory adapters of every port of [`maestro_domain::ports`], for a single server process
//! with no persistence (tests, demos, `--storage memory`) and as the reference behaviour the
//! other adapters are compared with. Every adapter passes the `maestro-testkit` contract
//! suites (see `tests/contract.rs`).
//!
//! | Port | Adapter | Notes |
//! |---|---|---|
//! | [`EventBus`](maestro_domain::ports::EventBus) | [`MemoryEventBus`] | tokio broadcast, bounded; lag is reported |
//! | [`ProjectRepo`](maestro_domain::ports::ProjectRepo) | [`MemoryProjectRepo`] | |
//! | [`TaskRepo`](maestro_domain::ports::TaskRepo) | [`MemoryTaskRepo`] | indexed by project |
//! | [`SessionRepo`](maestro_domain::ports::SessionRepo) | [`MemorySessionRepo`] | indexed by project |
//! | [`MailRepo`](maestro_domain::ports::MailRepo) | [`MemoryMailRepo`] | indexed by project |
//! | [`TeamMemberRepo`](maestro_domain::ports::TeamMemberRepo) | [`MemoryTeamMemberRepo`] | members and overrides per project |
//! | [`OrderingRepo`](maestro_domain::ports::OrderingRepo) | [`MemoryOrderingRepo`] | |
//! | [`Presence`](maestro_domain::ports::Presence) | [`MemoryPresence`] | background sweeper; **needs a tokio runtime** |
//! | [`Lock`](maestro_domain::ports::Lock) | [`MemoryLock`] | process-local SET-NX-PX |
//! | [`EventLog`](maestro_domain::ports::EventLog) | [`MemoryEventLog`] | a bounded ring per project; empty after a restart |
//! | [`IdempotencyStore`](maestro_domain::ports::IdempotencyStore) | [`MemoryIdempotency`] | process-local; forgotten on restart |
//!
//! Repositories keep records behind a `std::sync::RwLock` and never hold it across an
//! `.await`. An update runs its mutator on a clone under the write lock and stores the clone
//! only when the mutator succeeded and changed something, so a panicking mutator cannot leave
//! a half-changed record: a poisoned lock is therefore recovered, not propagated.

mod bus;
mod event_log;
mod idempotency;
mod lock;
mod presence;
mod repos;

pub use bus::{DEFAULT_CAPACITY, MemoryEventBus};
pub use event_log::MemoryEventLog;
pub use idempotency::MemoryIdempotency;
pub use lock::MemoryLock;
pub use presence::MemoryPresence;
pub use repos::{
    MemoryApiKeyRepo, MemoryMailRepo, MemoryMemberRepo, MemoryOrderingRepo, MemoryProjectRepo,
    MemoryPushSubscriptionRepo, MemorySessionRepo, MemoryTaskRepo, MemoryTeamMemberRepo,
};

/// A fresh, empty in-memory repository of every entity.
pub fn repositories() -> maestro_domain::services::Repositories {
    use std::sync::Arc;
    maestro_domain::services::Repositories {
        projects: Arc::new(MemoryProjectRepo::new()),
        tasks: Arc::new(MemoryTaskRepo::new()),
        sessions: Arc::new(MemorySessionRepo::new()),
        mail: Arc::new(MemoryMailRepo::new()),
        team_members: Arc::new(MemoryTeamMemberRepo::new()),
        orderings: Arc::new(MemoryOrderingRepo::new()),
    }
}

/// `now + ttl`, saturating at about a century for absurd TTLs instead of panicking.
pub(crate) fn deadline(
    now: tokio::time::Instant,
    ttl: std::time::Duration,
) -> tokio::time::Instant {
    const CENTURY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(ttl.min(CENTURY)).unwrap_or(now)
}
