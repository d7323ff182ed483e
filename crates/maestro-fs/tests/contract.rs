//! The testkit's contract suites, run against the FileSystem adapters: every case gets a
//! fresh store in its own data directory.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use maestro_fs::{FsConfig, FsStore};

/// `target/tmp/maestro-fs-contract/run-<pid>`: the data directories of this run. The repository
/// handles outlive the factory, so the directories cannot be deleted when a case ends; runs
/// older than an hour are cleared when a new run starts.
static RUN_DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("maestro-fs-contract");
    if let Ok(entries) = std::fs::read_dir(&parent) {
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            if old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = parent.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
});

async fn store() -> FsStore {
    let dir = tempfile::Builder::new()
        .prefix("case-")
        .tempdir_in(&*RUN_DIR)
        .unwrap()
        .keep();
    FsStore::open(FsConfig::new(dir)).await.unwrap()
}

maestro_testkit::project_repo_contract!(|| async { crate::store().await.projects() });
maestro_testkit::task_repo_contract!(|| async { crate::store().await.tasks() });
maestro_testkit::session_repo_contract!(|| async { crate::store().await.sessions() });
maestro_testkit::mail_repo_contract!(|| async { crate::store().await.mail() });
maestro_testkit::team_member_repo_contract!(|| async { crate::store().await.team_members() });
maestro_testkit::ordering_repo_contract!(|| async { crate::store().await.orderings() });
maestro_testkit::api_key_repo_contract!(|| async {
    maestro_testkit::api_key_repo::ApiKeyFixture {
        repo: crate::store().await.api_keys(),
        projects: [
            maestro_testkit::fixtures::unique_id("proj"),
            maestro_testkit::fixtures::unique_id("proj"),
        ],
    }
});

/// The FileSystem mail repository under the mail long-poll (with the in-memory event bus).
async fn wait_ports() -> maestro_domain::services::Ports {
    let store = store().await;
    maestro_domain::services::Ports::new(
        store.repositories(),
        std::sync::Arc::new(maestro_memory::MemoryEventBus::new()),
        std::sync::Arc::new(maestro_domain::ids::SystemClock),
        std::sync::Arc::new(maestro_domain::ids::RandomIds),
    )
}

maestro_testkit::mail_wait_contract!(|| async { crate::wait_ports().await });

maestro_testkit::blob_store_contract!(|| async {
    let dir = tempfile::Builder::new()
        .prefix("blobs-")
        .tempdir_in(&*RUN_DIR)
        .unwrap()
        .keep();
    std::sync::Arc::new(maestro_fs::FsBlobStore::new(dir))
        as std::sync::Arc<dyn maestro_domain::ports::BlobStore>
});

maestro_testkit::push_subscription_repo_contract!(|| async {
    crate::store().await.push_subscriptions()
});
