//! Shared state of the HTTP edge.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use maestro_domain::ports::{Auth, MemberRepo, Presence, Principal};
use maestro_domain::services::{AgentService, Repositories, Services, SpawnService};

/// Builds the repositories of one signed-in user from their access token.
pub type UserScope = Arc<dyn Fn(&str) -> Repositories + Send + Sync>;

/// Counts open raw WebSocket clients.
#[derive(Debug, Default)]
pub struct WsRegistry {
    pub(crate) open: AtomicUsize,
}

impl WsRegistry {
    pub fn count(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// Largest accepted request body by default (DEFECTS O2: ≥ 5 MB).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The configured body limit, put in every request's extensions so that extractors can name
/// it in a `413` (see `router`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Settings of the HTTP edge (built by the server app from its configuration).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub body_limit: usize,
    /// Exact origins allowed for CORS and WebSocket upgrades.
    pub allowed_origins: Vec<String>,
    /// `CORS_ORIGINS=*`: any origin (explicit opt-in; never the default).
    pub allow_any_origin: bool,
    /// Authentication, Host and proxy rules.
    pub security: SecurityConfig,
    /// Provider keys from the server environment, delivered only in `session:spawn` frames to
    /// trusted local connections (DEFECTS S3).
    pub spawn_secrets: std::collections::BTreeMap<String, String>,
}

/// How callers prove who they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// No credentials: only direct loopback callers (no proxy headers) are served.
    #[default]
    None,
    /// One shared secret (`MAESTRO_API_TOKEN`) required from every caller.
    Token,
    /// Supabase access tokens (plus `MAESTRO_API_TOKEN` if set); a direct loopback caller
    /// without a token is still the local user.
    Supabase,
}

impl AuthMode {
    /// The name used in configuration and in `GET /api/auth/config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Token => "token",
            Self::Supabase => "supabase",
        }
    }
}

/// What the web app needs to sign a user in with Supabase (public values only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupabasePublic {
    pub url: String,
    pub anon_key: String,
}

/// Connection limits of the listener (DEFECTS: slow-header and idle-socket exhaustion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// A request's header must arrive within this (also bounds an idle keep-alive wait for
    /// the next request's header).
    pub header_read_timeout: std::time::Duration,
    /// An open connection with no request in flight and no bytes either way is closed after
    /// this (upgraded WebSockets are kept busy by their pings).
    pub idle_timeout: std::time::Duration,
    /// A client whose socket accepts no bytes for this long (its buffer stays full) is
    /// disconnected; other clients are never delayed by it.
    pub write_timeout: std::time::Duration,
    /// Connections served at once; more are closed at accept with one log line.
    pub max_connections: usize,
    /// After shutdown begins, how long the listener still accepts while `/health/ready`
    /// answers `503 draining` (so a load balancer can take the instance out first).
    pub drain_grace: std::time::Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(75),
            write_timeout: std::time::Duration::from_secs(10),
            max_connections: 4096,
            drain_grace: std::time::Duration::ZERO,
        }
    }
}

/// Authentication, Host and proxy settings of the edge.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    pub auth_mode: AuthMode,
    /// A direct loopback caller without a token is the local user (mode `none`, and Supabase
    /// without `MAESTRO_API_TOKEN`, for the desktop app); otherwise it gets `401`.
    pub trust_loopback: bool,
    /// Host names (lower-case, no port) accepted in `Host` besides `localhost` and loopback
    /// addresses: the configured `HOST`, the hosts of `SERVER_URL`/`EXTERNAL_URL`,
    /// `ALLOWED_HOSTS`.
    pub allowed_hosts: Vec<String>,
    /// The listener is on every interface: any IP literal is a valid `Host`.
    pub any_ip_host: bool,
    /// Peers whose forwarded-for headers are believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub limits: ConnLimits,
    /// Set in Supabase mode, for the web app's sign-in.
    pub supabase: Option<SupabasePublic>,
    /// Mail waits pending at once across all sessions (429 beyond).
    pub max_mail_waits: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            auth_mode: AuthMode::None,
            trust_loopback: true,
            allowed_hosts: Vec::new(),
            any_ip_host: false,
            trusted_proxies: Vec::new(),
            limits: ConnLimits::default(),
            supabase: None,
            max_mail_waits: maestro_domain::services::DEFAULT_MAX_MAIL_WAITS,
        }
    }
}

impl SecurityConfig {
    /// Defaults with `auth_mode`.
    pub fn with_mode(auth_mode: AuthMode) -> Self {
        Self {
            auth_mode,
            trust_loopback: auth_mode != AuthMode::Token,
            ..Self::default()
        }
    }
}

/// A backend `/health` reports on (Redis, PostgREST, …).
#[async_trait::async_trait]
pub trait HealthProbe: Send + Sync {
    /// Key in the `/health` body.
    fn name(&self) -> &str;
    /// `{ok: bool, …details}`; must answer within a couple of seconds.
    async fn check(&self) -> serde_json::Value;
}

/// Everything a handler may need; cheap to clone. Built once ([`AppStateBuilder`]) and never
/// changed: its parts say what they are (`System`, `EdgeShared`, `Health`), and none
/// holds a caller's rights — a request acts through [`crate::scope::Scoped`], built for its
/// own principal.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    /// The server's own use cases and stores.
    pub system: System,
    /// Process-wide state of the edge.
    pub shared: EdgeShared,
    pub config: HttpConfig,
    /// What `/health`, `/health/ready` and `/metrics` report on.
    pub health: Health,
}

/// The server's own use cases and stores, unrestricted: what an unrestricted principal uses
/// as it is, and what a restricted caller's services are derived from
/// ([`crate::scope::scoped_services`]). Never handed to a restricted caller unscoped.
pub(crate) struct System {
    pub services: Services,
    pub spawn: SpawnService,
    pub agents: AgentService,
    pub auth: Arc<dyn Auth>,
    /// Repositories acting as a signed-in user (Supabase), if the storage supports it.
    pub user_scope: Option<UserScope>,
    /// Who is on which project, when the storage has user accounts (Supabase).
    pub members: Option<Arc<dyn MemberRepo>>,
    /// Mints and verifies agents' session tokens.
    pub session_tokens: crate::session_token::SessionTokens,
    /// Project API keys, when the storage keeps them.
    pub api_keys: Option<maestro_domain::services::ApiKeyService>,
    /// Task claims, when a lock is configured.
    pub claims: Option<maestro_domain::services::ClaimService>,
    /// Web Push, when a sender is configured.
    pub push: Option<maestro_domain::services::PushService>,
    /// Answers kept under their `Idempotency-Key`, when a store is configured.
    pub idempotency: Option<Arc<dyn maestro_domain::ports::IdempotencyStore>>,
    /// Replays of the project event log, when one is configured (its bus must be a
    /// `LoggedBus` over the same log).
    pub event_stream: Option<maestro_domain::services::EventStream>,
    /// Cache of serialised task listings (its bus must be an `InvalidatingBus`); served to
    /// unrestricted callers only, since a listing is the same for all of them.
    pub list_cache: Option<Arc<crate::cache::ListCache>>,
}

/// State every request and socket shares, keyed by project, address or socket, never by a
/// caller's rights (docs/DECISIONS.md D24 says why each part is safe).
pub(crate) struct EdgeShared {
    pub ws: WsRegistry,
    pub started: Instant,
    /// Orders a resuming socket's replay against the live events of its project.
    pub route_gate: crate::realtime::RouteGate,
    /// The Socket.IO handle, set when the router is built.
    pub io: std::sync::OnceLock<socketioxide::SocketIo>,
    /// Authentication failures per client address.
    pub auth_failures: crate::limit::FailureLimiter,
    /// New Socket.IO sessions per client address and in total, before any credential.
    pub handshakes: crate::realtime::HandshakeLimiter,
    /// Whether the "proxied request without auth" warning was logged.
    pub proxy_warned: std::sync::atomic::AtomicBool,
    /// Slow clients disconnected because their socket stopped taking bytes.
    pub evicted_slow_clients: Arc<AtomicUsize>,
}

/// Backends and collectors reported on.
#[derive(Default)]
pub(crate) struct Health {
    pub probes: Vec<Arc<dyn HealthProbe>>,
    /// Checks only `/health/ready` runs (kept out of `/health`, whose shape is the original's).
    pub readiness_checks: Vec<Arc<dyn HealthProbe>>,
    /// Run before each metrics scrape.
    pub metrics_collectors: Vec<Arc<dyn crate::metrics::MetricsCollector>>,
}

/// Builds the one immutable [`AppState`]: optional parts are added before [`build`], so
/// nothing can be added to a state already shared.
///
/// [`build`]: AppStateBuilder::build
pub struct AppStateBuilder {
    inner: Inner,
}

impl AppStateBuilder {
    /// Adds a backend to the `/health` report.
    #[must_use]
    pub fn probe(mut self, probe: Arc<dyn HealthProbe>) -> Self {
        self.inner.health.probes.push(probe);
        self
    }

    /// Adds a check to `/health/ready` only (e.g. the data directory).
    #[must_use]
    pub fn readiness_check(mut self, check: Arc<dyn HealthProbe>) -> Self {
        self.inner.health.readiness_checks.push(check);
        self
    }

    /// Lets signed-in users act through their own repositories (row-level security as
    /// defence in depth; the domain's access rules apply either way).
    #[must_use]
    pub fn user_scope(mut self, scope: UserScope) -> Self {
        self.inner.system.user_scope = Some(scope);
        self
    }

    /// The member store: signed-in users are served (with their roles) only when one is set,
    /// and it backs the membership API.
    #[must_use]
    pub fn members(mut self, members: Arc<dyn MemberRepo>) -> Self {
        self.inner.system.members = Some(members);
        self
    }

    /// The API-key store: project API keys are accepted and managed only when one is set.
    #[must_use]
    pub fn api_keys(mut self, repo: Arc<dyn maestro_domain::ports::ApiKeyRepo>) -> Self {
        self.inner.system.api_keys = Some(maestro_domain::services::ApiKeyService::new(
            &self.inner.system.services,
            repo,
        ));
        self
    }

    /// Signs session tokens with a configured key (default: a random key per process).
    #[must_use]
    pub fn session_tokens(mut self, tokens: crate::session_token::SessionTokens) -> Self {
        self.inner.system.session_tokens = tokens;
        self
    }

    /// Serves task listings from `cache`; the services' event bus must be the
    /// [`InvalidatingBus`](crate::cache::InvalidatingBus) of the same cache.
    #[must_use]
    pub fn list_cache(mut self, cache: Arc<crate::cache::ListCache>) -> Self {
        self.inner.system.list_cache = Some(cache);
        self
    }

    /// Task claims on `lock` (in-memory on one instance, Redis across instances).
    #[must_use]
    pub fn lock(mut self, lock: Arc<dyn maestro_domain::ports::Lock>) -> Self {
        self.inner.system.claims = Some(maestro_domain::services::ClaimService::new(
            &self.inner.system.services,
            lock,
        ));
        self
    }

    /// Honours `Idempotency-Key` on writes with `store` (in-memory on one instance, Redis
    /// across instances; [`crate::idempotency`]).
    #[must_use]
    pub fn idempotency(mut self, store: Arc<dyn maestro_domain::ports::IdempotencyStore>) -> Self {
        self.inner.system.idempotency = Some(store);
        self
    }

    /// Web Push to the person's devices.
    #[must_use]
    pub fn push(mut self, push: maestro_domain::services::PushService) -> Self {
        self.inner.system.push = Some(push);
        self
    }

    /// Runs `collector` before each metrics scrape.
    #[must_use]
    pub fn metrics_collector(
        mut self,
        collector: Arc<dyn crate::metrics::MetricsCollector>,
    ) -> Self {
        self.inner.health.metrics_collectors.push(collector);
        self
    }

    /// Resumable event streams from `log`; the services' event bus must be a
    /// [`LoggedBus`](maestro_domain::services::LoggedBus) over the same log.
    #[must_use]
    pub fn event_log(mut self, log: Arc<dyn maestro_domain::ports::EventLog>) -> Self {
        self.inner.system.event_stream = Some(maestro_domain::services::EventStream::new(log));
        self
    }

    pub fn build(self) -> AppState {
        AppState(Arc::new(self.inner))
    }
}

impl AppState {
    /// A state without optional parts; see [`AppState::builder`] for those.
    pub fn new(
        services: Services,
        spawn: SpawnService,
        agents: AgentService,
        auth: Arc<dyn Auth>,
        config: HttpConfig,
    ) -> Self {
        Self::builder(services, spawn, agents, auth, config).build()
    }

    pub fn builder(
        services: Services,
        spawn: SpawnService,
        agents: AgentService,
        auth: Arc<dyn Auth>,
        config: HttpConfig,
    ) -> AppStateBuilder {
        services.set_max_mail_waits(config.security.max_mail_waits);
        AppStateBuilder {
            inner: Inner {
                system: System {
                    services,
                    spawn,
                    agents,
                    auth,
                    user_scope: None,
                    members: None,
                    session_tokens: crate::session_token::SessionTokens::ephemeral(),
                    api_keys: None,
                    claims: None,
                    push: None,
                    idempotency: None,
                    event_stream: None,
                    list_cache: None,
                },
                shared: EdgeShared {
                    ws: WsRegistry::default(),
                    started: Instant::now(),
                    route_gate: crate::realtime::RouteGate::default(),
                    io: std::sync::OnceLock::new(),
                    auth_failures: crate::limit::FailureLimiter::default(),
                    handshakes: crate::realtime::HandshakeLimiter::default(),
                    proxy_warned: std::sync::atomic::AtomicBool::new(false),
                    evicted_slow_clients: Arc::new(AtomicUsize::new(0)),
                },
                config,
                health: Health::default(),
            },
        }
    }

    /// The member store, when the storage has user accounts.
    pub fn members(&self) -> Option<&Arc<dyn MemberRepo>> {
        self.0.system.members.as_ref()
    }

    pub fn session_tokens(&self) -> &crate::session_token::SessionTokens {
        &self.0.system.session_tokens
    }

    /// The API-key use cases (as the server), when the storage keeps keys.
    pub fn api_keys(&self) -> Option<&maestro_domain::services::ApiKeyService> {
        self.0.system.api_keys.as_ref()
    }

    /// Replays of the project event log, when one is configured.
    pub fn event_stream(&self) -> Option<&maestro_domain::services::EventStream> {
        self.0.system.event_stream.as_ref()
    }

    /// The store of `Idempotency-Key` answers, when configured.
    pub fn idempotency(&self) -> Option<&Arc<dyn maestro_domain::ports::IdempotencyStore>> {
        self.0.system.idempotency.as_ref()
    }

    /// Web Push, when configured.
    pub fn push(&self) -> Option<&maestro_domain::services::PushService> {
        self.0.system.push.as_ref()
    }

    /// The task claims, when a lock is configured.
    pub fn claims(&self) -> Option<&maestro_domain::services::ClaimService> {
        self.0.system.claims.as_ref()
    }

    /// What runs before each metrics scrape.
    pub fn metrics_collectors(&self) -> &[Arc<dyn crate::metrics::MetricsCollector>] {
        &self.0.health.metrics_collectors
    }

    /// Whether `principal` sees `project_id` (the domain's access rule, for channels that
    /// check a project before using any service: Socket.IO rooms, presence listings).
    pub async fn can_read(
        &self,
        principal: &Principal,
        project_id: &str,
    ) -> maestro_domain::Result<bool> {
        match maestro_domain::access::access_for(principal, self.members())? {
            None => Ok(true),
            Some(access) => access.can_read(project_id).await,
        }
    }

    /// The task listing cache, when configured.
    pub fn list_cache(&self) -> Option<&Arc<crate::cache::ListCache>> {
        self.0.system.list_cache.as_ref()
    }

    /// Seconds since the state was built.
    pub fn uptime_secs(&self) -> f64 {
        self.0.shared.started.elapsed().as_secs_f64()
    }

    /// The backends `/health` reports on.
    pub fn probes(&self) -> &[Arc<dyn HealthProbe>] {
        &self.0.health.probes
    }

    /// The extra checks of `/health/ready`.
    pub fn readiness_checks(&self) -> &[Arc<dyn HealthProbe>] {
        &self.0.health.readiness_checks
    }

    pub fn services(&self) -> &Services {
        &self.0.system.services
    }

    pub fn spawn_service(&self) -> &SpawnService {
        &self.0.system.spawn
    }

    pub fn auth(&self) -> &Arc<dyn Auth> {
        &self.0.system.auth
    }

    /// The agent-side use cases (heartbeat, modals, skills, session clean-up).
    pub fn agent_service(&self) -> &AgentService {
        &self.0.system.agents
    }

    pub fn presence(&self) -> &Arc<dyn Presence> {
        self.0.system.agents.presence()
    }

    pub fn config(&self) -> &HttpConfig {
        &self.0.config
    }

    /// Connected Socket.IO clients of a namespace (`/ui`, `/mobile`).
    pub fn socket_io_clients(&self, ns: &str) -> usize {
        self.0
            .shared
            .io
            .get()
            .and_then(|io| io.of(ns))
            .map_or(0, |ops| ops.sockets().len())
    }

    /// Clients disconnected so far because they stopped reading.
    pub fn evicted_slow_clients(&self) -> usize {
        self.0.shared.evicted_slow_clients.load(Ordering::Relaxed)
    }

    /// Number of open raw WebSocket clients.
    pub fn ws_clients(&self) -> usize {
        self.0.shared.ws.count()
    }
}
