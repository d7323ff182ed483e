//! # maestro-server
//!
//! The thin binary crate: reads [`config`], opens the adapters chosen by it, wires the domain
//! services and serves the HTTP edge. Everything else lives in the library crates.

pub mod config;
pub mod doctor;
pub mod phone;
mod progress;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use maestro_domain::ids::{RandomIds, SystemClock};
use maestro_domain::ports::{EventBus, EventLog, MailRepo, ManifestGenerator, Presence};
use maestro_domain::services::{
    AgentPorts, AgentService, HostInfo, LoggedBus, Ports, PushPorts, PushService, PushingBus,
    RetryPolicy, Services, SpawnService, SpawnSettings,
};
use maestro_fs::{CorruptPolicy, FsConfig, FsStore};
use maestro_http::{
    AppState, AuthMode, ConnLimits, HttpConfig, SecurityConfig, SupabasePublic, TokenAuth,
};
use maestro_local::{CliManifestGenerator, FsModalPages, FsSkillCatalog};
use maestro_memory::{MemoryEventBus, MemoryEventLog, MemoryPresence};
use maestro_redis::{RedisBackend, RedisConfig};
use maestro_supabase::{DEFAULT_DOC_THRESHOLD, PostgrestClient, SupabaseAuth, SupabaseRepos};

use crate::config::{Config, MailBackend};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot open the data directory: {0}")]
    Storage(#[from] maestro_fs::FsError),
    #[error("cannot connect to Redis (REDIS_URL): {0}")]
    Redis(#[from] maestro_redis::RedisError),
    #[error("Supabase (SUPABASE_URL): {0}")]
    Supabase(maestro_domain::DomainError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("Web Push: {0}")]
    Push(String),
}

/// The running pieces, for the binary and for tests.
pub struct Wired {
    pub state: AppState,
    /// The FileSystem store, when any repository uses it.
    pub store: Option<FsStore>,
    pub redis: Option<Arc<RedisBackend>>,
}

/// `/health` report of PostgREST reachability.
struct SupabaseProbe(SupabaseRepos);

#[async_trait::async_trait]
impl maestro_http::HealthProbe for SupabaseProbe {
    fn name(&self) -> &str {
        "supabase"
    }

    async fn check(&self) -> serde_json::Value {
        let started = std::time::Instant::now();
        match tokio::time::timeout(std::time::Duration::from_secs(3), self.0.ping()).await {
            Ok(Ok(())) => serde_json::json!({
                "ok": true,
                "pingMs": started.elapsed().as_secs_f64() * 1000.0,
            }),
            Ok(Err(e)) => serde_json::json!({"ok": false, "error": e.to_string()}),
            Err(_) => {
                serde_json::json!({"ok": false, "error": "PostgREST did not answer within 3 s"})
            }
        }
    }
}

/// Bucket for session docs too large to keep inline.
pub const DOCS_BUCKET: &str = "maestro-docs";

/// `/health` report of the Redis connection.
struct RedisProbe(Arc<RedisBackend>);

#[async_trait::async_trait]
impl maestro_http::HealthProbe for RedisProbe {
    fn name(&self) -> &str {
        "redis"
    }

    async fn check(&self) -> serde_json::Value {
        let ping = tokio::time::timeout(std::time::Duration::from_secs(2), self.0.ping()).await;
        let stats = self.0.redis_bus().stats();
        match ping {
            Ok(Ok(rtt)) => serde_json::json!({
                "ok": true,
                "pingMs": rtt.as_secs_f64() * 1000.0,
                "publishFailures": stats.publish_failures,
            }),
            Ok(Err(e)) => {
                serde_json::json!({"ok": false, "error": e.to_string(), "publishFailures": stats.publish_failures})
            }
            Err(_) => {
                serde_json::json!({"ok": false, "error": "PING timed out", "publishFailures": stats.publish_failures})
            }
        }
    }
}

/// `/health/ready` check of the data directory: a file can be written and removed there.
struct DataDirProbe(std::path::PathBuf);

#[async_trait::async_trait]
impl maestro_http::HealthProbe for DataDirProbe {
    fn name(&self) -> &str {
        "dataDir"
    }

    async fn check(&self) -> serde_json::Value {
        let dir = self.0.clone();
        let wrote = tokio::task::spawn_blocking(move || write_probe(&dir))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // `/health/ready` is public: the path stays in the log and `doctor`, not here.
        match wrote {
            Ok(()) => serde_json::json!({"ok": true}),
            Err(e) => {
                tracing::warn!(path = %self.0.display(), error = %e, "data directory not writable");
                serde_json::json!({
                    "ok": false,
                    "error": format!("cannot write in the data directory: {}", e.kind()),
                })
            }
        }
    }
}

/// Writes a probe file in `dir` and removes it: whether the server can write there (used by
/// `/health/ready` and `maestro-server doctor`).
pub(crate) fn write_probe(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".maestro-probe-{}", std::process::id()));
    std::fs::write(&probe, b"ok")?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Opens the adapters and builds the application state; logs one line per port.
pub async fn wire(cfg: &Config, env: &BTreeMap<String, String>) -> Result<Wired, StartError> {
    // The recorder first: the metered decorators keep the handles they register.
    let _ = maestro_metrics::recorder::handle();
    let (supabase, store) = open_storage(cfg).await?;
    let (redis, bus, presence, event_log) = open_events(cfg).await?;
    let (mail, mail_adapter) =
        choose_mail(cfg, redis.as_deref(), supabase.as_ref(), store.as_ref())?;
    let auth = choose_auth(cfg, supabase.as_ref());
    let (mut repos, adapter) = match (&supabase, &store) {
        (Some(s), _) => (s.repositories(), "supabase"),
        (None, Some(fs)) => (fs.repositories(), "filesystem"),
        (None, None) => return Err(no_store_for_backend()),
    };
    repos.mail = mail;
    // Every repository operation is timed, by adapter.
    let repos = maestro_metrics::metered_repositories(repos, adapter, mail_adapter);
    // Task listings are served from a cache invalidated by every event, synchronously.
    let list_cache = Arc::new(maestro_http::cache::ListCache::new());
    let bus: Arc<dyn EventBus> = Arc::new(maestro_http::cache::InvalidatingBus::new(
        bus,
        list_cache.clone(),
    ));
    // Every project event gets an id in its project's log before it is published.
    let bus: Arc<dyn EventBus> = Arc::new(LoggedBus::new(bus, event_log.clone()));
    // The stores that say who may see what, shared by the push sender and the HTTP edge.
    let members: Option<Arc<dyn maestro_domain::ports::MemberRepo>> = supabase.as_ref().map(|s| {
        maestro_metrics::MeteredRepo::wrap(
            s.members() as Arc<dyn maestro_domain::ports::MemberRepo>,
            "supabase",
            "member",
        ) as Arc<dyn maestro_domain::ports::MemberRepo>
    });
    let api_keys: Option<Arc<dyn maestro_domain::ports::ApiKeyRepo>> = match (&supabase, &store) {
        (Some(s), _) => Some(maestro_metrics::MeteredRepo::wrap(
            s.api_keys() as Arc<dyn maestro_domain::ports::ApiKeyRepo>,
            "supabase",
            "api_key",
        )),
        (None, Some(fs)) => Some(maestro_metrics::MeteredRepo::wrap(
            fs.api_keys(),
            "filesystem",
            "api_key",
        )),
        (None, None) => None,
    };
    // Web Push: offered every event this process publishes, so each is pushed once.
    let push = open_push(
        cfg,
        supabase.as_ref(),
        &repos,
        members.clone(),
        api_keys.clone(),
    )?;
    let bus: Arc<dyn EventBus> = Arc::new(PushingBus::new(bus, push.clone()));
    let bus: Arc<dyn EventBus> = maestro_metrics::MeteredBus::wrap(bus);
    let presence: Arc<dyn Presence> = maestro_metrics::MeteredPresence::wrap(presence);
    let ports = Ports::new(repos, bus, Arc::new(SystemClock), Arc::new(RandomIds));
    let services = Services::new(
        ports,
        HostInfo {
            hostname: hostname(),
            platform: HostInfo::node_platform(std::env::consts::OS),
        },
    );
    let passed = config::PassedEnv::from_vars(env);
    let (spawn, agents) = agent_services(cfg, &services, presence, &passed);
    let http = HttpConfig {
        body_limit: cfg.max_body_bytes,
        allowed_origins: cfg.allowed_origins.clone(),
        allow_any_origin: cfg.allow_any_origin,
        security: security_config(cfg),
        spawn_secrets: passed.spawn_secrets,
    };
    let shared_mail = services.ports().mail.clone();
    let lock: Arc<dyn maestro_domain::ports::Lock> = match &redis {
        Some(r) => r.lock(),
        None => Arc::new(maestro_memory::MemoryLock::new()),
    };
    let lock: Arc<dyn maestro_domain::ports::Lock> = maestro_metrics::MeteredLock::wrap(lock);
    tracing::info!(
        port = "Lock",
        adapter = if redis.is_some() {
            "redis"
        } else {
            "in-memory"
        },
        "port wired"
    );
    // Idempotency keys live where locks do: shared by every instance on Redis.
    let idempotency: Arc<dyn maestro_domain::ports::IdempotencyStore> = match &redis {
        Some(r) => r.idempotency(),
        None => Arc::new(maestro_memory::MemoryIdempotency::new()),
    };
    let mut state = AppState::builder(services, spawn, agents, auth, http)
        .readiness_check(Arc::new(DataDirProbe(cfg.data_dir.clone())))
        .list_cache(list_cache)
        .event_log(event_log)
        .lock(lock)
        .idempotency(idempotency);
    if let Some(r) = &redis {
        let counted = r.clone();
        state = state
            .probe(Arc::new(RedisProbe(r.clone())))
            .metrics_collector(maestro_http::metrics::collector(move || {
                metrics_reconnects("redis", counted.reconnects());
            }));
    }
    if let (Some(s), Some(sb)) = (&supabase, &cfg.supabase) {
        let supabase_mail = cfg.mail_backend == MailBackend::Supabase;
        let client = s.client().clone();
        state = state
            .probe(Arc::new(SupabaseProbe(s.clone())))
            .user_scope(user_scope(s, sb, supabase_mail, shared_mail))
            .metrics_collector(maestro_http::metrics::collector(move || {
                metrics_reconnects("postgrest", client.reconnects());
            }));
    }
    if let Some(m) = members {
        state = state.members(m);
    }
    if let Some(k) = api_keys {
        state = state.api_keys(k);
    }
    state = state.push(push);
    if let Some(key) = &cfg.session_key {
        state = state.session_tokens(maestro_http::session_token::SessionTokens::new(
            key.as_bytes().to_vec(),
        ));
    }
    Ok(Wired {
        state: state.build(),
        store,
        redis,
    })
}

/// The Web Push service and its sender loop (started here): subscriptions next to the other
/// durable data (Supabase, or DATA_DIR), the VAPID key from `VAPID_PRIVATE_KEY` or
/// `DATA_DIR/vapid.json`.
fn open_push(
    cfg: &Config,
    supabase: Option<&SupabaseRepos>,
    repos: &maestro_domain::services::Repositories,
    members: Option<Arc<dyn maestro_domain::ports::MemberRepo>>,
    api_keys: Option<Arc<dyn maestro_domain::ports::ApiKeyRepo>>,
) -> Result<PushService, StartError> {
    let keys = match &cfg.push.vapid_keys {
        Some(k) => k.clone(),
        None => {
            let path = cfg.data_dir.join("vapid.json");
            let (keys, created) = maestro_webpush::VapidKeys::load_or_create(&path)
                .map_err(|e| StartError::Push(e.to_string()))?;
            if created {
                tracing::info!(path = %path.display(), "Web Push: generated a VAPID key pair");
            }
            keys
        }
    };
    let sender = maestro_webpush::WebPushSender::new(
        keys,
        maestro_webpush::WebPushConfig {
            subject: cfg.push.subject.clone(),
            policy: cfg.push.policy.clone(),
            ..Default::default()
        },
    )
    .map_err(|e| StartError::Push(e.to_string()))?;
    let (subscriptions, adapter): (Arc<dyn maestro_domain::ports::PushSubscriptionRepo>, _) =
        match supabase {
            Some(s) => (s.push_subscriptions(), "supabase"),
            None => (
                Arc::new(maestro_fs::FsPushSubscriptions::at(&cfg.data_dir)),
                "filesystem",
            ),
        };
    let subscriptions =
        maestro_metrics::MeteredRepo::wrap(subscriptions, adapter, "push_subscription");
    let (push, dispatcher) = PushService::new(
        PushPorts {
            subscriptions,
            sender: Arc::new(sender),
            sessions: repos.sessions.clone(),
            members,
            api_keys,
            clock: Arc::new(SystemClock),
        },
        RetryPolicy::default(),
    );
    tokio::spawn(dispatcher.run());
    tracing::info!(port = "PushSubscriptionRepo", adapter, "port wired");
    tracing::info!(port = "PushSender", adapter = "webpush", "port wired");
    Ok(push)
}

/// The repositories' storage: Supabase when enabled, the FileSystem store otherwise (and for
/// mail when `MAIL_BACKEND=fs`).
async fn open_storage(
    cfg: &Config,
) -> Result<(Option<SupabaseRepos>, Option<FsStore>), StartError> {
    let policy = if cfg.refuse_corrupt {
        CorruptPolicy::Refuse
    } else {
        CorruptPolicy::Skip
    };
    let supabase = cfg
        .supabase
        .as_ref()
        .filter(|_| cfg.supabase_enabled)
        .map(|s| supabase_repos(cfg, s));
    let needs_fs = supabase.is_none() || cfg.mail_backend == MailBackend::Fs;
    let store = if needs_fs {
        Some(FsStore::open(FsConfig::new(&cfg.data_dir).with_corrupt_policy(policy)).await?)
    } else {
        tokio::fs::create_dir_all(&cfg.data_dir)
            .await
            .map_err(|source| StartError::DataDir {
                path: cfg.data_dir.clone(),
                source,
            })?;
        None
    };
    let dir = cfg.data_dir.display();
    let adapter = if supabase.is_some() {
        "supabase"
    } else {
        "filesystem"
    };
    for port in [
        "ProjectRepo",
        "TaskRepo",
        "SessionRepo",
        "TeamMemberRepo",
        "OrderingRepo",
    ] {
        tracing::info!(port, adapter, data_dir = %dir, "port wired");
    }
    Ok((supabase, store))
}

type Events = (
    Option<Arc<RedisBackend>>,
    Arc<dyn EventBus>,
    Arc<dyn Presence>,
    Arc<dyn EventLog>,
);

/// Event bus, presence and event log: Redis when enabled, in-memory otherwise.
async fn open_events(cfg: &Config) -> Result<Events, StartError> {
    let redis = if cfg.redis_enabled {
        let mut config = RedisConfig::new(&cfg.redis_url, &cfg.redis_key_prefix);
        config.event_log = cfg.event_log;
        Some(Arc::new(RedisBackend::connect_with(config).await?))
    } else {
        tracing::info!("Redis disabled (REDIS_ENABLED=false): in-memory event bus and presence");
        None
    };
    let (bus, presence, log): (Arc<dyn EventBus>, Arc<dyn Presence>, Arc<dyn EventLog>) =
        match &redis {
            Some(r) => (r.bus(), r.presence(), r.event_log()),
            None => (
                Arc::new(MemoryEventBus::new()),
                Arc::new(MemoryPresence::new()),
                Arc::new(MemoryEventLog::new(cfg.event_log)),
            ),
        };
    let adapter = if redis.is_some() {
        "redis"
    } else {
        "in-memory"
    };
    tracing::info!(port = "EventBus", adapter, "port wired");
    tracing::info!(port = "Presence", adapter, "port wired");
    tracing::info!(
        port = "EventLog",
        adapter,
        max_len = cfg.event_log.max_len,
        max_age_secs = cfg.event_log.max_age.as_secs(),
        "port wired"
    );
    Ok((redis, bus, presence, log))
}

/// `maestro_backend_reconnects_total{backend}`, set from an adapter's own count.
fn metrics_reconnects(backend: &'static str, n: u64) {
    metrics::counter!(maestro_metrics::names::BACKEND_RECONNECTS, "backend" => backend).absolute(n);
}

/// The mail store `MAIL_BACKEND` names, and its adapter's name.
fn choose_mail(
    cfg: &Config,
    redis: Option<&RedisBackend>,
    supabase: Option<&SupabaseRepos>,
    store: Option<&FsStore>,
) -> Result<(Arc<dyn MailRepo>, &'static str), StartError> {
    let (mail, adapter): (Arc<dyn MailRepo>, &str) =
        match (cfg.mail_backend, redis, supabase, store) {
            (MailBackend::Redis, Some(r), _, _) => (r.mail(), "redis-streams"),
            (MailBackend::Supabase, _, Some(s), _) => (s.mail(), "supabase"),
            (_, _, _, Some(fs)) => (fs.mail(), "filesystem"),
            _ => return Err(no_store_for_backend()),
        };
    tracing::info!(port = "MailRepo", adapter, "port wired");
    Ok((mail, adapter))
}

/// Supabase JWTs (and the API token) on Supabase, else the API token alone.
fn choose_auth(
    cfg: &Config,
    supabase: Option<&SupabaseRepos>,
) -> Arc<dyn maestro_domain::ports::Auth> {
    let supabase = supabase.filter(|_| cfg.auth_mode == AuthMode::Supabase);
    let auth: Arc<dyn maestro_domain::ports::Auth> = match (supabase, &cfg.supabase) {
        (Some(_), Some(sb)) => Arc::new(SupabaseAuth::new(
            &sb.url,
            cfg.api_token.clone(),
            cfg.supabase_jwt_secret.clone(),
        )),
        _ => Arc::new(TokenAuth::new(cfg.api_token.clone())),
    };
    tracing::info!(
        port = "Auth",
        adapter = match (supabase, &cfg.api_token) {
            (Some(_), _) => "supabase-jwt (+ MAESTRO_API_TOKEN)",
            (None, Some(_)) => "bearer-token",
            (None, None) => "loopback-only (no token)",
        },
        "port wired"
    );
    auth
}

/// The spawn and agent-side use cases, on the local adapters: the CLI manifest generator,
/// modal pages in `DATA_DIR/modals` and the skills of `SKILLS_DIR`.
fn agent_services(
    cfg: &Config,
    services: &Services,
    presence: Arc<dyn Presence>,
    passed: &config::PassedEnv,
) -> (SpawnService, AgentService) {
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let manifests: Arc<dyn ManifestGenerator> = Arc::new(CliManifestGenerator {
        program: cfg.cli_path.clone(),
        session_dir: abs(&cfg.session_dir),
        data_dir: abs(&cfg.data_dir),
        server_url: cfg.server_url.clone(),
        timeout: cfg.manifest_timeout,
        env: passed.child_env.clone(),
    });
    tracing::info!(port = "ManifestGenerator", adapter = "cli", program = %cfg.cli_path.display(), "port wired");
    tracing::info!(port = "ModalPages", adapter = "filesystem", dir = %cfg.data_dir.join("modals").display(), "port wired");
    tracing::info!(port = "SkillCatalog", adapter = "filesystem", dir = %cfg.skills_dir.display(), "port wired");
    let spawn = SpawnService::new(
        services,
        manifests.clone(),
        SpawnSettings {
            server_url: cfg.server_url.clone(),
            data_dir: abs(&cfg.data_dir).display().to_string(),
            session_dir: abs(&cfg.session_dir).display().to_string(),
            flags: passed.spawn_flags.clone(),
        },
    );
    let agents = AgentService::new(
        services,
        AgentPorts {
            presence,
            manifests,
            modals: Arc::new(FsModalPages::new(cfg.data_dir.join("modals"))),
            skills: Arc::new(FsSkillCatalog::new(cfg.skills_dir.clone())),
        },
    );
    (spawn, agents)
}

/// The edge's authentication, Host and connection settings.
fn security_config(cfg: &Config) -> SecurityConfig {
    let auth_mode = cfg.auth_mode;
    tracing::info!(
        auth_mode = auth_mode.as_str(),
        trust_loopback = cfg.trust_loopback,
        "authentication"
    );
    SecurityConfig {
        auth_mode,
        trust_loopback: cfg.trust_loopback,
        allowed_hosts: cfg.allowed_hosts.clone(),
        any_ip_host: cfg.host.is_unspecified(),
        trusted_proxies: cfg.trusted_proxies.clone(),
        limits: ConnLimits {
            header_read_timeout: cfg.header_read_timeout,
            idle_timeout: cfg.idle_timeout,
            write_timeout: cfg.client_write_timeout,
            max_connections: cfg.max_connections,
            drain_grace: cfg.shutdown_grace,
        },
        supabase: cfg
            .supabase
            .as_ref()
            .filter(|_| auth_mode == AuthMode::Supabase)
            .map(|s| SupabasePublic {
                url: s.url.clone(),
                anon_key: s.anon_key.clone(),
            }),
        max_mail_waits: cfg.max_mail_waits,
    }
}

/// Signed-in users act through repositories bound to their own token (RLS); mail stays in
/// the shared store unless it is on Supabase too.
fn user_scope(
    s: &SupabaseRepos,
    sb: &maestro_supabase::SupabaseConfig,
    supabase_mail: bool,
    shared_mail: Arc<dyn MailRepo>,
) -> maestro_http::scope::UserScope {
    let (client, anon, storage) = (
        s.client().clone(),
        sb.anon_key.clone(),
        Arc::new(sb.storage(DOCS_BUCKET)),
    );
    Arc::new(move |jwt: &str| {
        let user = SupabaseRepos::new(client.as_user(&anon, jwt))
            .with_doc_blobs(storage.clone(), DEFAULT_DOC_THRESHOLD);
        let mut repos =
            maestro_metrics::metered_repositories(user.repositories(), "supabase", "supabase");
        if !supabase_mail {
            // The shared store, metered already.
            repos.mail = shared_mail.clone();
        }
        repos
    })
}

/// Service-role repositories on PostgREST, with large session docs in Storage.
fn supabase_repos(cfg: &Config, s: &maestro_supabase::SupabaseConfig) -> SupabaseRepos {
    let rest = cfg
        .supabase_rest_url
        .clone()
        .unwrap_or_else(|| s.rest_url());
    SupabaseRepos::new(PostgrestClient::service(&rest, &s.service_role_key))
        .with_doc_blobs(Arc::new(s.storage(DOCS_BUCKET)), DEFAULT_DOC_THRESHOLD)
}

/// Configuration validation guarantees a store for every selected backend; this is the error
/// for the impossible remainder.
fn no_store_for_backend() -> StartError {
    StartError::Config(config::ConfigError {
        var: "MAIL_BACKEND",
        message: "no store is configured for the selected backend".into(),
    })
}

/// `maestro-server migrate to-supabase`: copies a data directory into Supabase through the
/// repositories, idempotently: a progress bar per entity on stderr when it is a terminal (nothing
/// in pipes), and the returned report counts every entity.
pub async fn migrate_to_supabase(
    cfg: &Config,
    source: &std::path::Path,
    dry_run: bool,
) -> Result<maestro_supabase::MigrationReport, StartError> {
    let supabase = cfg.supabase.as_ref().ok_or_else(|| {
        StartError::Config(config::ConfigError {
            var: "SUPABASE_URL",
            message: "is required to migrate to Supabase".into(),
        })
    })?;
    let store = FsStore::open(FsConfig::new(source)).await?;
    let target = supabase_repos(cfg, supabase);
    target.ping().await.map_err(StartError::Supabase)?;
    let mut bar = progress::EntityBars::on_stderr();
    let report = maestro_supabase::migrate(
        &store.repositories(),
        &target.repositories(),
        &store.orphan_project_ids(),
        dry_run,
        |p| bar.update(p.entity.as_str(), p.done, p.total),
    )
    .await
    .map_err(StartError::Supabase)?;
    bar.finish();
    Ok(report)
}

/// Fails sessions whose agent stopped heartbeating (presence expiry), until the stream ends.
pub fn watch_presence(state: &AppState) -> tokio::task::JoinHandle<()> {
    let mut expired = state.presence().expirations();
    let services = state.services().clone();
    tokio::spawn(async move {
        while let Some(session_id) = expired.next().await {
            match services.sessions.mark_disconnected(&session_id).await {
                Ok(Some(_)) => {
                    tracing::warn!(session = %session_id, "agent disconnected; session failed")
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(session = %session_id, error = %e, "could not fail disconnected session")
                }
            }
        }
    })
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, so that `MAX_CONNECTIONS` (and not the
/// usual soft limit of 1,024 descriptors) bounds the open connections; warns when the limit
/// is still below what the connection cap needs.
pub fn raise_fd_limit(max_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::debug!(limit, "open file limit");
            // Each connection is one descriptor; keep room for files, Redis and PostgREST.
            if (max_connections as u64).saturating_add(256) > limit {
                tracing::warn!(
                    limit,
                    max_connections,
                    "the open file limit is below MAX_CONNECTIONS + 256; raise it (ulimit -n) \
                     or lower MAX_CONNECTIONS"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot raise the open file limit"),
    }
}

/// Binds `METRICS_ADDR` and serves `/metrics` there until `stopped` turns `true`.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    state: AppState,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, StartError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    tracing::info!(%addr, "metrics listening (GET /metrics, no authentication)");
    Ok(tokio::spawn(async move {
        let stop = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = maestro_http::metrics::serve_metrics(listener, state, stop).await {
            tracing::warn!(error = %e, "metrics listener stopped");
        }
    }))
}

/// Binds, writes `DATA_DIR/server-url`, and serves until `shutdown` resolves.
pub async fn run(
    cfg: Config,
    env: BTreeMap<String, String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    raise_fd_limit(cfg.max_connections);
    let mut wired = wire(&cfg, &env).await?;
    let addr = cfg.bind_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(%local, server_url = %cfg.server_url, "listening");
    phone::announce(cfg.external_url.as_deref());
    let url_file = cfg.data_dir.join("server-url");
    if let Err(e) = tokio::fs::write(&url_file, cfg.server_url.as_bytes()).await {
        tracing::warn!(path = %url_file.display(), error = %e, "could not write server-url");
    }
    let watcher = watch_presence(&wired.state);
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let metrics = match cfg.metrics_addr {
        Some(addr) => Some(serve_metrics(addr, wired.state.clone(), stopped).await?),
        None => None,
    };
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let result = maestro_http::serve(listener, wired.state, shutdown).await;
    watcher.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    drop(wired.store.take());
    drop(wired.redis);
    tracing::info!("stopped");
    result.map_err(StartError::Serve)
}
