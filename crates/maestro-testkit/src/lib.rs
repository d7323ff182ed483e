//! # maestro-testkit
//!
//! The contract suites of the ports of [`maestro_domain::ports`], written once and run by every
//! adapter, plus [`fixtures`] that build valid, fully populated entities.
//!
//! Each port has a module of cases, `pub async fn <case>(store: Arc<dyn Port>)`, and a macro
//! that expands to one `#[tokio::test]` per case in a `mod <port>_contract`:
//!
//! ```text
//! use std::sync::Arc;
//! use maestro_domain::ports::TaskRepo;
//!
//! maestro_testkit::task_repo_contract!(|| async {
//!     Arc::new(MemoryTaskRepo::new()) as Arc<dyn TaskRepo>
//! });
//! ```
//!
//! | Macro | Factory returns (from a zero-argument closure or fn, as a future) |
//! |---|---|
//! | [`event_bus_contract!`] | `Arc<dyn EventBus>`; `event_bus_contract!(f, capacity = N)` also checks lag reporting |
//! | [`project_repo_contract!`] | `Arc<dyn ProjectRepo>` |
//! | [`task_repo_contract!`] | `Arc<dyn TaskRepo>` |
//! | [`session_repo_contract!`] | `Arc<dyn SessionRepo>` |
//! | [`mail_repo_contract!`] | `Arc<dyn MailRepo>` |
//! | [`team_member_repo_contract!`] | `Arc<dyn TeamMemberRepo>` |
//! | [`ordering_repo_contract!`] | `Arc<dyn OrderingRepo>` |
//! | [`presence_contract!`] | `Arc<dyn Presence>` |
//! | [`lock_contract!`] | `Arc<dyn Lock>` |
//! | [`member_repo_contract!`] | a `member_repo::MemberFixture`: the repository, an empty project, three users |
//! | [`blob_store_contract!`] | `Arc<dyn BlobStore>` |
//! | [`api_key_repo_contract!`] | an `api_key_repo::ApiKeyFixture`: the repository and two existing projects |
//! | [`push_subscription_repo_contract!`] | `Arc<dyn PushSubscriptionRepo>` |
//! | [`modal_pages_contract!`] | `Arc<dyn ModalPages>` |
//! | [`idempotency_contract!`] | `Arc<dyn IdempotencyStore>` |
//! | [`auth_contract!`] | `(Arc<dyn Auth>, String)`: an adapter that requires a token, and a valid token |
//!
//! The factory may return the concrete `Arc<Adapter>` too (it is coerced). A crate using the
//! macros needs only `maestro-testkit`, `tokio` and itself as dev-dependencies. Every module
//! also lists its cases in `ALL_CASES`.
//!
//! Each case fails after 30 s instead of hanging. The cases are written to run against shared
//! backends (one Redis for every test): each case makes its own unique ids, filters global
//! listings down to its own records, and uses real time (no paused clock). Each case takes a
//! few seconds at most; no case bounds how long something took, only that it happened.

#![allow(clippy::unwrap_used)]

pub mod blob_store;
pub mod fixtures;
mod macros;
pub mod poll;
pub mod services;
mod support;

pub mod api_key_repo;
pub mod auth;
pub mod event_bus;
pub mod event_log;
pub mod idempotency;
pub mod lock;
pub mod mail_repo;
pub mod mail_wait;
pub mod member_repo;
pub mod modal_pages;
pub mod ordering_repo;
pub mod presence;
pub mod project_repo;
pub mod push_subscription_repo;
pub mod session_repo;
pub mod task_repo;
pub mod team_member_repo;

#[doc(hidden)]
pub mod __private {
    use std::sync::Arc;

    /// What a contract factory returns: the adapter, or `None` when its backend is not there
    /// (the factory has already said so loudly, or failed under `CI`): the case then does not
    /// run against anything else.
    pub trait Provided {
        type Adapter;
        fn provided(self) -> Option<Self::Adapter>;
    }

    impl<T: ?Sized> Provided for Arc<T> {
        type Adapter = Arc<T>;
        fn provided(self) -> Option<Arc<T>> {
            Some(self)
        }
    }

    impl<T: ?Sized> Provided for Option<Arc<T>> {
        type Adapter = Arc<T>;
        fn provided(self) -> Option<Arc<T>> {
            self
        }
    }

    impl Provided for maestro_domain::services::Ports {
        type Adapter = Self;
        fn provided(self) -> Option<Self> {
            Some(self)
        }
    }

    impl Provided for Option<maestro_domain::services::Ports> {
        type Adapter = maestro_domain::services::Ports;
        fn provided(self) -> Option<maestro_domain::services::Ports> {
            self
        }
    }

    impl Provided for crate::api_key_repo::ApiKeyFixture {
        type Adapter = Self;
        fn provided(self) -> Option<Self> {
            Some(self)
        }
    }

    impl Provided for Option<crate::api_key_repo::ApiKeyFixture> {
        type Adapter = crate::api_key_repo::ApiKeyFixture;
        fn provided(self) -> Option<crate::api_key_repo::ApiKeyFixture> {
            self
        }
    }

    impl Provided for crate::member_repo::MemberFixture {
        type Adapter = Self;
        fn provided(self) -> Option<Self> {
            Some(self)
        }
    }

    impl Provided for Option<crate::member_repo::MemberFixture> {
        type Adapter = crate::member_repo::MemberFixture;
        fn provided(self) -> Option<crate::member_repo::MemberFixture> {
            self
        }
    }

    impl Provided for crate::event_log::EventLogFixture {
        type Adapter = Self;
        fn provided(self) -> Option<Self> {
            Some(self)
        }
    }

    impl Provided for Option<crate::event_log::EventLogFixture> {
        type Adapter = crate::event_log::EventLogFixture;
        fn provided(self) -> Option<crate::event_log::EventLogFixture> {
            self
        }
    }

    impl<A, B> Provided for (A, B) {
        type Adapter = (A, B);
        fn provided(self) -> Option<(A, B)> {
            Some(self)
        }
    }

    impl<A, B> Provided for Option<(A, B)> {
        type Adapter = (A, B);
        fn provided(self) -> Option<(A, B)> {
            self
        }
    }

    /// Calls a contract factory (a function keeps clippy from flagging the closure call).
    pub async fn make<F, Fut, S>(factory: F) -> Option<S::Adapter>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = S>,
        S: Provided,
    {
        factory().await.provided()
    }

    /// Longest a case may run before it fails (a hung adapter must not hang the test run).
    pub const CASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

    /// Runs one case, failing it after [`CASE_TIMEOUT`].
    pub async fn bounded(case: impl std::future::Future<Output = ()>) {
        if tokio::time::timeout(CASE_TIMEOUT, case).await.is_err() {
            panic!("contract case still running after {CASE_TIMEOUT:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    /// `pub async fn` names of a case module's source, in order.
    fn cases_in(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter_map(|l| l.strip_prefix("pub async fn "))
            .map(|rest| rest.split(['(', '<']).next().unwrap().trim())
            .collect()
    }

    fn check(module: &str, source: &str, listed: &[&str]) {
        let mut found = cases_in(source);
        found.sort_unstable();
        let mut listed = listed.to_vec();
        listed.sort_unstable();
        assert_eq!(
            found, listed,
            "{module}: every `pub async fn` must be listed in its case macro"
        );
        assert!(!listed.is_empty());
    }

    #[test]
    fn every_case_is_listed_in_its_macro() {
        use super::*;
        check(
            "event_bus",
            include_str!("event_bus.rs"),
            &[event_bus::ALL_CASES, event_bus::CAPACITY_CASES].concat(),
        );
        check(
            "project_repo",
            include_str!("project_repo.rs"),
            project_repo::ALL_CASES,
        );
        check(
            "task_repo",
            include_str!("task_repo.rs"),
            task_repo::ALL_CASES,
        );
        check(
            "session_repo",
            include_str!("session_repo.rs"),
            session_repo::ALL_CASES,
        );
        check(
            "mail_repo",
            include_str!("mail_repo.rs"),
            mail_repo::ALL_CASES,
        );
        check(
            "team_member_repo",
            include_str!("team_member_repo.rs"),
            team_member_repo::ALL_CASES,
        );
        check(
            "ordering_repo",
            include_str!("ordering_repo.rs"),
            ordering_repo::ALL_CASES,
        );
        check(
            "mail_wait",
            include_str!("mail_wait.rs"),
            mail_wait::ALL_CASES,
        );
        check("presence", include_str!("presence.rs"), presence::ALL_CASES);
        check("lock", include_str!("lock.rs"), lock::ALL_CASES);
        check(
            "event_log",
            include_str!("event_log.rs"),
            event_log::ALL_CASES,
        );
        check("auth", include_str!("auth.rs"), auth::ALL_CASES);
        check(
            "member_repo",
            include_str!("member_repo.rs"),
            member_repo::ALL_CASES,
        );
        check(
            "api_key_repo",
            include_str!("api_key_repo.rs"),
            api_key_repo::ALL_CASES,
        );
        check(
            "modal_pages",
            include_str!("modal_pages.rs"),
            modal_pages::ALL_CASES,
        );
        check(
            "blob_store",
            include_str!("blob_store.rs"),
            blob_store::ALL_CASES,
        );
        check(
            "push_subscription_repo",
            include_str!("push_subscription_repo.rs"),
            push_subscription_repo::ALL_CASES,
        );
    }
}
