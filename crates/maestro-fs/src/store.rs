//! [`FsStore`]: opens a data directory and hands out the repository handles.

use std::path::Path;
use std::sync::Arc;

use maestro_domain::model::{MailMessage, Project, Session, Task};
use maestro_domain::ports::{
    MailRepo, OrderingRepo, ProjectRepo, SessionRepo, TaskRepo, TeamMemberRepo,
};

use crate::config::FsConfig;
use crate::dirlock::DirLock;
use crate::durable::ensure_dir;
use crate::error::FsError;
use crate::layout::Layout;
use crate::load::{LoadReport, load};
use crate::repo::{Collection, Orderings, TeamMembers};

/// An open data directory: the lock, the loaded caches and the six repositories.
///
/// Cloning a handle is cheap; the directory stays locked until the store and every handle it
/// gave out are dropped.
#[derive(Clone)]
pub struct FsStore {
    layout: Layout,
    report: Arc<LoadReport>,
    projects: Arc<Collection<Project>>,
    tasks: Arc<Collection<Task>>,
    sessions: Arc<Collection<Session>>,
    mail: Arc<Collection<MailMessage>>,
    orderings: Arc<Orderings>,
    team_members: Arc<TeamMembers>,
}

impl std::fmt::Debug for FsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStore")
            .field("data_dir", &self.layout.root())
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl FsStore {
    /// Opens `config.data_dir` on the blocking thread pool: see [`FsStore::open_blocking`].
    pub async fn open(config: FsConfig) -> Result<Self, FsError> {
        tokio::task::spawn_blocking(move || Self::open_blocking(&config))
            .await
            .map_err(|e| FsError::Task(e.to_string()))?
    }

    /// Opens a data directory (blocking; use [`FsStore::open`] from async code):
    ///
    /// 1. creates it and its start-up folders (STORAGE.md §1);
    /// 2. takes the exclusive lock file `maestro-server.lock` — a directory already opened by
    ///    another process or another store fails with [`FsError::Locked`];
    /// 3. loads every record into memory, applying the load-time migrations and the
    ///    corrupt-file policy (see the crate docs).
    ///
    /// The repository handles need a Tokio runtime (writes run on its blocking pool).
    pub fn open_blocking(config: &FsConfig) -> Result<Self, FsError> {
        let layout = Layout::new(config.data_dir.clone());
        ensure_dir(layout.root())?;
        let dir_lock = Arc::new(DirLock::acquire(layout.root(), layout.lock_file())?);
        for dir in layout.startup_dirs() {
            ensure_dir(&dir)?;
        }
        let loaded = load(&layout, config.corrupt_policy)?;
        let r = &loaded.report;
        tracing::info!(
            data_dir = %layout.root().display(),
            projects = r.projects,
            tasks = r.tasks,
            sessions = r.sessions,
            mail = r.mail,
            orderings = r.orderings,
            team_members = r.team_members,
            overrides = r.team_member_overrides,
            corrupt = r.corrupt.len(),
            elapsed_ms = r.elapsed.as_millis(),
            "data directory loaded"
        );
        let lock = || Arc::clone(&dir_lock);
        Ok(Self {
            projects: Arc::new(Collection::new(layout.clone(), loaded.projects, lock())),
            tasks: Arc::new(Collection::new(layout.clone(), loaded.tasks, lock())),
            sessions: Arc::new(Collection::new(layout.clone(), loaded.sessions, lock())),
            mail: Arc::new(Collection::new(layout.clone(), loaded.mail, lock())),
            orderings: Arc::new(Orderings::new(layout.clone(), loaded.orderings, lock())),
            team_members: Arc::new(TeamMembers::new(layout.clone(), loaded.team, lock())),
            report: Arc::new(loaded.report),
            layout,
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.layout.root()
    }

    /// Project ids that only the directory layout reveals — `team-members/<projectId>/` and
    /// `ordering/{task,session}/<projectId>.json` — whose projects may be gone (a migration
    /// copies their records too).
    pub fn orphan_project_ids(&self) -> Vec<String> {
        let root = self.data_dir();
        let mut ids = Vec::new();
        let names = |dir: &Path| -> Vec<std::fs::DirEntry> {
            std::fs::read_dir(dir)
                .map(|it| it.flatten().collect())
                .unwrap_or_default()
        };
        for e in names(&root.join("team-members")) {
            if e.path().is_dir()
                && let Some(n) = e.file_name().to_str()
            {
                ids.push(n.to_owned());
            }
        }
        for kind in ["task", "session"] {
            for e in names(&root.join("ordering").join(kind)) {
                if let Some(stem) = e.file_name().to_str().and_then(|n| n.strip_suffix(".json")) {
                    ids.push(stem.to_owned());
                }
            }
        }
        ids
    }

    /// What start-up found and did (counts, corrupt files, migrations).
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// The six repositories as the domain's bundle.
    pub fn repositories(&self) -> maestro_domain::services::Repositories {
        maestro_domain::services::Repositories {
            projects: self.projects(),
            tasks: self.tasks(),
            sessions: self.sessions(),
            mail: self.mail(),
            team_members: self.team_members(),
            orderings: self.orderings(),
        }
    }

    pub fn projects(&self) -> Arc<dyn ProjectRepo> {
        self.projects.clone()
    }

    pub fn tasks(&self) -> Arc<dyn TaskRepo> {
        self.tasks.clone()
    }

    pub fn sessions(&self) -> Arc<dyn SessionRepo> {
        self.sessions.clone()
    }

    pub fn mail(&self) -> Arc<dyn MailRepo> {
        self.mail.clone()
    }

    pub fn orderings(&self) -> Arc<dyn OrderingRepo> {
        self.orderings.clone()
    }

    pub fn team_members(&self) -> Arc<dyn TeamMemberRepo> {
        self.team_members.clone()
    }

    /// The project API keys under `<DATA_DIR>/api-keys/`.
    pub fn api_keys(&self) -> Arc<dyn maestro_domain::ports::ApiKeyRepo> {
        Arc::new(crate::repo::FsApiKeys::new(self.layout.clone()))
    }

    /// The Web Push subscriptions under `<DATA_DIR>/push-subscriptions/`.
    pub fn push_subscriptions(&self) -> Arc<dyn maestro_domain::ports::PushSubscriptionRepo> {
        Arc::new(crate::repo::FsPushSubscriptions::new(self.layout.clone()))
    }
}
