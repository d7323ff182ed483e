//! Shared state of the HTTP edge.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use maestro_domain::ports::{Auth, Presence};
use maestro_domain::services::{Services, SpawnService};

use crate::modal::ModalStore;
use crate::skills::SkillStore;
use crate::ws::WsRegistry;

/// Largest accepted request body by default (DEFECTS O2: ≥ 5 MB).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

static BODY_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_BODY_LIMIT);

/// The configured body limit, for error messages.
pub(crate) fn body_limit_hint() -> usize {
    BODY_LIMIT.load(Ordering::Relaxed)
}

/// Settings of the HTTP edge (built by the server app from its configuration).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub body_limit: usize,
    /// Exact origins allowed for CORS and WebSocket upgrades.
    pub allowed_origins: Vec<String>,
    /// `CORS_ORIGINS=*`: any origin (explicit opt-in; never the default).
    pub allow_any_origin: bool,
    /// Whether every request needs a credential the `Auth` port accepts.
    pub require_auth: bool,
    pub data_dir: PathBuf,
    pub skills_dir: PathBuf,
    /// Provider keys from the server environment, delivered only in `session:spawn` frames to
    /// trusted local connections (DEFECTS S3).
    pub spawn_secrets: std::collections::BTreeMap<String, String>,
}

/// A backend `/health` reports on (Redis, PostgREST, …).
#[async_trait::async_trait]
pub trait HealthProbe: Send + Sync {
    /// Key in the `/health` body.
    fn name(&self) -> &str;
    /// `{ok: bool, …details}`; must answer within a couple of seconds.
    async fn check(&self) -> serde_json::Value;
}

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub services: Services,
    pub spawn: SpawnService,
    pub auth: Arc<dyn Auth>,
    pub presence: Arc<dyn Presence>,
    pub config: HttpConfig,
    pub modals: ModalStore,
    pub skills: SkillStore,
    pub ws: WsRegistry,
    pub started: Instant,
    pub probes: Vec<Arc<dyn HealthProbe>>,
    /// Repositories acting as a signed-in user (Supabase), if the storage supports it.
    pub user_scope: Option<crate::scope::UserScope>,
    /// Whether the mail store enforces row-level security itself.
    pub mail_has_rls: bool,
    /// Cache of serialised task listings (its bus must be an `InvalidatingBus`).
    pub list_cache: Option<Arc<crate::cache::ListCache>>,
    /// The Socket.IO handle, set when the router is built.
    pub io: std::sync::OnceLock<socketioxide::SocketIo>,
}

impl AppState {
    pub fn new(
        services: Services,
        spawn: SpawnService,
        auth: Arc<dyn Auth>,
        presence: Arc<dyn Presence>,
        config: HttpConfig,
    ) -> Self {
        BODY_LIMIT.store(config.body_limit, Ordering::Relaxed);
        Self(Arc::new(Inner {
            modals: ModalStore::new(config.data_dir.join("modals")),
            skills: SkillStore::new(config.skills_dir.clone()),
            ws: WsRegistry::default(),
            started: Instant::now(),
            io: std::sync::OnceLock::new(),
            probes: Vec::new(),
            user_scope: None,
            mail_has_rls: false,
            list_cache: None,
            services,
            spawn,
            auth,
            presence,
            config,
        }))
    }

    /// Adds a backend to the `/health` report (call before serving).
    #[must_use]
    pub fn with_probe(mut self, probe: Arc<dyn HealthProbe>) -> Self {
        match Arc::get_mut(&mut self.0) {
            Some(inner) => inner.probes.push(probe),
            None => tracing::warn!("health probe added after the state was shared; ignored"),
        }
        self
    }

    /// Lets signed-in users act through their own repositories (`mail_has_rls`: the user
    /// repositories' mail store enforces row-level security itself).
    #[must_use]
    pub fn with_user_scope(mut self, scope: crate::scope::UserScope, mail_has_rls: bool) -> Self {
        match Arc::get_mut(&mut self.0) {
            Some(inner) => {
                inner.user_scope = Some(scope);
                inner.mail_has_rls = mail_has_rls;
            }
            None => tracing::warn!("user scope added after the state was shared; ignored"),
        }
        self
    }

    /// Serves task listings from `cache`; the services' event bus must be the
    /// [`InvalidatingBus`](crate::cache::InvalidatingBus) of the same cache.
    #[must_use]
    pub fn with_list_cache(mut self, cache: Arc<crate::cache::ListCache>) -> Self {
        match Arc::get_mut(&mut self.0) {
            Some(inner) => inner.list_cache = Some(cache),
            None => tracing::warn!("list cache added after the state was shared; ignored"),
        }
        self
    }

    pub fn services(&self) -> &Services {
        &self.0.services
    }

    pub fn spawn_service(&self) -> &SpawnService {
        &self.0.spawn
    }

    pub fn auth(&self) -> &Arc<dyn Auth> {
        &self.0.auth
    }

    pub fn presence(&self) -> &Arc<dyn Presence> {
        &self.0.presence
    }

    pub fn config(&self) -> &HttpConfig {
        &self.0.config
    }

    /// Connected Socket.IO clients of a namespace (`/ui`, `/mobile`).
    pub fn socket_io_clients(&self, ns: &str) -> usize {
        self.0
            .io
            .get()
            .and_then(|io| io.of(ns))
            .map_or(0, |ops| ops.sockets().len())
    }

    /// Number of open raw WebSocket clients.
    pub fn ws_clients(&self) -> usize {
        self.0.ws.count()
    }
}
