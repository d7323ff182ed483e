//! The testkit's contract suites against the Supabase repositories, through postrust (the
//! PostgREST stand-in) and PostgreSQL with the migrations and RLS applied. One database and one
//! postrust for this binary; the cases use unique ids. Repositories use the service role.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use maestro_fs::FsBlobStore;
use maestro_supabase::SupabaseRepos;

/// The service-role repositories; `None` (the case skips, or fails under `CI`) without
/// PostgreSQL and postrust.
fn repos() -> Option<SupabaseRepos> {
    support::env().map(support::Env::service_repos)
}

maestro_testkit::project_repo_contract!(|| async { crate::repos().map(|r| r.projects()) });
maestro_testkit::task_repo_contract!(|| async { crate::repos().map(|r| r.tasks()) });
maestro_testkit::session_repo_contract!(|| async { crate::repos().map(|r| r.sessions()) });
maestro_testkit::mail_repo_contract!(|| async { crate::repos().map(|r| r.mail()) });
maestro_testkit::team_member_repo_contract!(|| async { crate::repos().map(|r| r.team_members()) });
maestro_testkit::ordering_repo_contract!(|| async { crate::repos().map(|r| r.orderings()) });

/// The Supabase mail repository under the mail long-poll (with the in-memory event bus).
async fn wait_ports() -> Option<maestro_domain::services::Ports> {
    let repos = repos()?;
    Some(maestro_domain::services::Ports {
        projects: repos.projects(),
        tasks: repos.tasks(),
        sessions: repos.sessions(),
        mail: repos.mail(),
        team_members: repos.team_members(),
        orderings: repos.orderings(),
        bus: Arc::new(maestro_memory::MemoryEventBus::new()),
        clock: Arc::new(maestro_domain::ids::SystemClock),
        ids: Arc::new(maestro_domain::ids::RandomIds),
    })
}

maestro_testkit::mail_wait_contract!(|| async { crate::wait_ports().await });

/// Sessions whose docs go to a blob store (threshold 4 bytes: every fixture doc is offloaded)
/// behave exactly like plain ones.
mod with_doc_blobs {
    use super::*;

    fn sessions() -> Option<Arc<dyn maestro_domain::ports::SessionRepo>> {
        let repos = crate::repos()?;
        // Kept under target/tmp (the handles outlive the factory; `cargo clean` removes them).
        let parent =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("maestro-supabase-blobs");
        if std::fs::create_dir_all(&parent).is_err() {
            panic!("cannot create {}", parent.display());
        }
        let dir = tempfile::tempdir_in(parent).unwrap().keep();
        Some(
            repos
                .with_doc_blobs(Arc::new(FsBlobStore::new(dir)), 4)
                .sessions(),
        )
    }

    maestro_testkit::session_repo_contract!(|| async { super::sessions() });
}

/// A project created with the service role (no owner) and three users in `auth.users`.
async fn member_fixture() -> Option<maestro_testkit::member_repo::MemberFixture> {
    use maestro_domain::model::UserRef;
    let env = support::env()?;
    let repos = env.service_repos();
    let project_id = maestro_testkit::fixtures::unique_id("proj");
    repos
        .projects()
        .create(maestro_testkit::fixtures::project(&project_id, 1_000))
        .await
        .unwrap();
    let users = ["alice", "bob", "carol"]
        .iter()
        .map(|n| {
            let u = env.user(n);
            UserRef {
                id: u.id,
                email: Some(u.email),
            }
        })
        .collect();
    Some(maestro_testkit::member_repo::MemberFixture {
        repo: repos.members(),
        project_id,
        users,
    })
}

maestro_testkit::member_repo_contract!(member_fixture);

/// Two existing projects (API keys reference their project).
async fn api_key_fixture() -> Option<maestro_testkit::api_key_repo::ApiKeyFixture> {
    let repos = repos()?;
    let mut projects = [String::new(), String::new()];
    for p in &mut projects {
        *p = maestro_testkit::fixtures::unique_id("proj");
        repos
            .projects()
            .create(maestro_testkit::fixtures::project(p, 1_000))
            .await
            .unwrap();
    }
    Some(maestro_testkit::api_key_repo::ApiKeyFixture {
        repo: repos.api_keys(),
        projects,
    })
}

maestro_testkit::api_key_repo_contract!(api_key_fixture);

maestro_testkit::push_subscription_repo_contract!(|| async {
    repos().map(|r| r.push_subscriptions() as Arc<dyn maestro_domain::ports::PushSubscriptionRepo>)
});
