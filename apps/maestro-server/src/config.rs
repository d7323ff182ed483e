//! The one place that reads configuration: environment variables with the original server's
//! names (STORAGE.md §6), each also settable as a flag (`maestro-server --help`). Everything is
//! validated here, at start-up, with a message naming the variable.

use std::net::{IpAddr, Ipv4Addr};

use maestro_http::AuthMode;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod args;
mod values;

pub use args::{Args, Command, MigrateTarget};
pub(crate) use values::url_host;
use values::{boolean, count, err, proxies, seconds, url_origin};
pub use values::{expand_home, token_weakness};

/// Mail storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailBackend {
    Fs,
    Redis,
    Supabase,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub server_url: String,
    pub data_dir: PathBuf,
    pub session_dir: PathBuf,
    pub skills_dir: PathBuf,
    pub cli_path: PathBuf,
    pub manifest_timeout: Duration,
    pub api_token: Option<String>,
    /// `MAESTRO_SESSION_KEY`: signs agents' session tokens.
    pub session_key: Option<String>,
    /// `AUTH_MODE` (validated against the token and Supabase settings).
    pub auth_mode: AuthMode,
    /// `AUTH_TRUST_LOOPBACK`: direct loopback callers without a token are the local user
    /// (always in mode `none`; opt-in in mode `supabase`; never in mode `token`).
    pub trust_loopback: bool,
    pub allowed_origins: Vec<String>,
    pub allow_any_origin: bool,
    pub external_url: Option<String>,
    pub max_body_bytes: usize,
    pub refuse_corrupt: bool,
    pub log_level: String,
    /// `LOG_FORMAT`: `pretty` (default), `compact` or `json` (one object per line).
    pub log_format: LogFormat,
    pub redis_enabled: bool,
    pub redis_url: String,
    pub redis_key_prefix: String,
    pub supabase_enabled: bool,
    /// Set when Supabase is enabled or a migration targets it.
    pub supabase: Option<maestro_supabase::SupabaseConfig>,
    /// PostgREST base URL (`SUPABASE_URL/rest/v1` unless overridden).
    pub supabase_rest_url: Option<String>,
    pub supabase_jwt_secret: Option<String>,
    pub mail_backend: MailBackend,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Host names accepted in `Host` besides localhost and loopback addresses.
    pub allowed_hosts: Vec<String>,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub client_write_timeout: Duration,
    pub max_connections: usize,
    pub max_mail_waits: usize,
    /// `SHUTDOWN_TIMEOUT_SECS`: longest drain after SIGTERM/SIGINT.
    pub shutdown_timeout: Duration,
    /// `SHUTDOWN_GRACE_SECS`: readiness says `draining` while the listener still accepts.
    pub shutdown_grace: Duration,
    /// `METRICS_ADDR`: a loopback listener serving `/metrics` without authentication.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `EVENT_LOG_MAX_LEN` and `EVENT_LOG_MAX_AGE_SECS`: how much of each project's event
    /// log is kept for resuming clients.
    pub event_log: maestro_domain::ports::Retention,
    /// `VAPID_PRIVATE_KEY`, `VAPID_SUBJECT` and `PUSH_ENDPOINT_ALLOWLIST`: Web Push.
    pub push: Push,
    pub command: Option<Command>,
}

/// Web Push settings, validated.
#[derive(Debug, Clone)]
pub struct Push {
    /// `None`: generated on first start and kept in `DATA_DIR/vapid.json`.
    pub vapid_keys: Option<maestro_webpush::VapidKeys>,
    pub subject: String,
    pub policy: maestro_webpush::EndpointPolicy,
}

impl Push {
    fn parse(a: &Args) -> Result<Self, ConfigError> {
        let vapid_keys = match a.vapid_private_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k) => Some(
                maestro_webpush::VapidKeys::from_private(k)
                    .map_err(|e| err("VAPID_PRIVATE_KEY", e.to_string()))?,
            ),
        };
        let subject = match a.vapid_subject.as_deref().map(str::trim) {
            None | Some("") => "mailto:maestro@localhost".to_string(),
            Some(s) if s.starts_with("mailto:") || s.starts_with("https://") => s.to_string(),
            Some(_) => return Err(err("VAPID_SUBJECT", "must start with mailto: or https://")),
        };
        let policy = maestro_webpush::EndpointPolicy::with_allowlist(
            a.push_endpoint_allowlist
                .as_deref()
                .unwrap_or("")
                .split(','),
        )
        .map_err(|e| err("PUSH_ENDPOINT_ALLOWLIST", e.to_string()))?;
        Ok(Self {
            vapid_keys,
            subject,
            policy,
        })
    }
}

/// What the server passes on from its own environment: non-secret flags into spawned
/// sessions, provider keys into `session:spawn` frames for trusted local clients only
/// (DEFECTS S3), and the allow-listed variables of the manifest CLI child.
#[derive(Debug, Clone, Default)]
pub struct PassedEnv {
    pub spawn_flags: std::collections::BTreeMap<String, String>,
    pub spawn_secrets: std::collections::BTreeMap<String, String>,
    pub child_env: Vec<(String, String)>,
}

impl PassedEnv {
    pub fn from_vars(env: &std::collections::BTreeMap<String, String>) -> Self {
        let pick = |keys: &[&str]| {
            keys.iter()
                .filter_map(|k| env.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect()
        };
        Self {
            spawn_flags: pick(&maestro_domain::services::FLAG_ENV_KEYS),
            spawn_secrets: pick(&maestro_domain::services::SECRET_ENV_KEYS),
            child_env: maestro_local::child_env(env),
        }
    }
}

/// A configuration error, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Config {
    /// Validates parsed arguments: each group of settings in its own function, in order, so
    /// the first invalid variable is the one reported (`Sections` has them all).
    pub fn from_args(a: Args, home: Option<&Path>) -> Result<Self, ConfigError> {
        let s = Sections::validate(&a);
        let net = s.network?;
        let general = s.general?;
        let supabase_enabled = s.supabase_enabled?;
        // `None` only when the network settings are invalid, which returned above.
        let access = s.access.ok_or_else(|| err("HOST", "invalid"))??;
        let limits = s.limits?;
        let backends = s.backends?;
        let metrics_addr = s.metrics_addr?;
        let push = s.push?;
        Ok(Self {
            host: net.host,
            port: net.port,
            server_url: net.server_url,
            data_dir: expand_home(&a.data_dir, home),
            session_dir: expand_home(&a.session_dir, home),
            skills_dir: expand_home(&a.skills_dir, home),
            cli_path: expand_home(&a.cli_path, home),
            manifest_timeout: general.manifest_timeout,
            api_token: access.api_token,
            session_key: access.session_key,
            auth_mode: access.auth_mode,
            trust_loopback: access.trust_loopback,
            allowed_origins: access.allowed_origins,
            allow_any_origin: access.allow_any_origin,
            external_url: net.external_url,
            max_body_bytes: general.max_body_bytes,
            refuse_corrupt: general.refuse_corrupt,
            log_level: general.log_level,
            log_format: general.log_format,
            redis_enabled: backends.redis_enabled,
            redis_url: backends.redis_url,
            redis_key_prefix: backends.redis_key_prefix,
            supabase_enabled,
            supabase: backends.supabase,
            supabase_rest_url: backends.supabase_rest_url,
            supabase_jwt_secret: a.supabase_jwt_secret.filter(|s| !s.is_empty()),
            mail_backend: backends.mail_backend,
            trusted_proxies: access.trusted_proxies,
            allowed_hosts: access.allowed_hosts,
            header_read_timeout: limits.header_read_timeout,
            idle_timeout: limits.idle_timeout,
            client_write_timeout: limits.client_write_timeout,
            max_connections: limits.max_connections,
            max_mail_waits: limits.max_mail_waits,
            shutdown_timeout: limits.shutdown_timeout,
            shutdown_grace: limits.shutdown_grace,
            metrics_addr,
            event_log: limits.event_log,
            push,
            command: a.command,
        })
    }

    /// Listen address.
    pub fn bind_addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.host, self.port)
    }
}

/// Every group of settings, each validated on its own, so that all invalid groups are known
/// at once (`maestro-server doctor`); [`Config::from_args`] reports the first.
pub(crate) struct Sections {
    pub(crate) network: Result<Network, ConfigError>,
    pub(crate) general: Result<General, ConfigError>,
    pub(crate) supabase_enabled: Result<bool, ConfigError>,
    /// `None` when [`Sections::network`] is invalid (access settings depend on it).
    pub(crate) access: Option<Result<Access, ConfigError>>,
    pub(crate) limits: Result<Limits, ConfigError>,
    pub(crate) backends: Result<Backends, ConfigError>,
    pub(crate) metrics_addr: Result<Option<std::net::SocketAddr>, ConfigError>,
    pub(crate) push: Result<Push, ConfigError>,
}

impl Sections {
    pub(crate) fn validate(a: &Args) -> Self {
        let network = Network::parse(a);
        let supabase_enabled = boolean("SUPABASE_ENABLED", &a.supabase_enabled);
        let supabase_on = *supabase_enabled.as_ref().unwrap_or(&false);
        let access = network
            .as_ref()
            .ok()
            .map(|net| Access::parse(a, net, supabase_on));
        let port = network.as_ref().map_or(0, |n| n.port);
        Self {
            general: General::parse(a),
            supabase_enabled,
            access,
            limits: Limits::parse(a),
            backends: Backends::parse(a, supabase_on),
            metrics_addr: metrics_addr(a.metrics_addr.as_deref(), port),
            push: Push::parse(a),
            network,
        }
    }
}

/// `PORT`, `HOST`, `SERVER_URL`, `EXTERNAL_URL`/`CLOUDFLARE_TUNNEL_URL`.
pub(crate) struct Network {
    pub(crate) host: IpAddr,
    pub(crate) port: u16,
    pub(crate) server_url: String,
    pub(crate) external_url: Option<String>,
}

/// Manifest timeout, body limit, corrupt files, logging, `NODE_ENV`.
pub(crate) struct General {
    manifest_timeout: Duration,
    max_body_bytes: usize,
    refuse_corrupt: bool,
    log_level: String,
    log_format: LogFormat,
}

impl General {
    fn parse(a: &Args) -> Result<Self, ConfigError> {
        let manifest_timeout = a
            .manifest_timeout_secs
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| err("MANIFEST_TIMEOUT_SECS", "expected 1-3600 seconds"))?;
        let max_body_bytes = a
            .max_body_bytes
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1024)
            .ok_or_else(|| err("MAX_BODY_BYTES", "expected a number of bytes ≥ 1024"))?;
        let refuse_corrupt = match a.corrupt_files.trim() {
            "skip" => false,
            "refuse" => true,
            other => {
                return Err(err(
                    "CORRUPT_FILES",
                    format!("expected skip or refuse, got '{other}'"),
                ));
            }
        };
        let (log_level, log_format) = logging(a)?;
        if !matches!(a.node_env.trim(), "development" | "production" | "test") {
            return Err(err("NODE_ENV", "expected development, production or test"));
        }
        Ok(Self {
            manifest_timeout,
            max_body_bytes,
            refuse_corrupt,
            log_level,
            log_format,
        })
    }
}

impl Network {
    fn parse(a: &Args) -> Result<Self, ConfigError> {
        let port: u16 = a
            .port
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                err(
                    "PORT",
                    format!("'{}' is not a port number (1-65535)", a.port),
                )
            })?;
        let host_text = if a.host.trim() == "localhost" {
            "127.0.0.1"
        } else {
            a.host.trim()
        };
        let host: IpAddr = host_text
            .parse()
            .map_err(|_| err("HOST", format!("'{}' is not an IP address", a.host)))?;
        let server_url = match a.server_url.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(u) => {
                url_origin("SERVER_URL", u)?;
                u.trim().trim_end_matches('/').to_string()
            }
            None => format!("http://localhost:{port}"),
        };
        let external_url = match (&a.external_url, &a.cloudflare_tunnel_url) {
            (Some(u), _) | (None, Some(u)) if !u.trim().is_empty() => {
                Some(url_origin("EXTERNAL_URL", u)?)
            }
            _ => None,
        };
        Ok(Self {
            host,
            port,
            server_url,
            external_url,
        })
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, multi-field lines.
    Pretty,
    /// One short line per event.
    Compact,
    /// One JSON object per line (for log shippers), with the request's span fields
    /// (`request_id`, `method`, `path`).
    Json,
}

/// `LOG_LEVEL`, `DEBUG`, `LOG_FORMAT` → (level, format).
fn logging(a: &Args) -> Result<(String, LogFormat), ConfigError> {
    let mut log_level = a.log_level.trim().to_ascii_lowercase();
    if !matches!(log_level.as_str(), "error" | "warn" | "info" | "debug") {
        return Err(err(
            "LOG_LEVEL",
            format!("expected error, warn, info or debug, got '{log_level}'"),
        ));
    }
    if boolean("DEBUG", &a.debug)? {
        log_level = "debug".into();
    }
    let log_format = match a.log_format.trim() {
        "pretty" => LogFormat::Pretty,
        "compact" => LogFormat::Compact,
        "json" => LogFormat::Json,
        other => {
            return Err(err(
                "LOG_FORMAT",
                format!("expected pretty, compact or json, got '{other}'"),
            ));
        }
    };
    Ok((log_level, log_format))
}

/// Who may call: the token (strong enough, required when exposed), browser origins, `Host`
/// names and trusted proxies.
pub(crate) struct Access {
    pub(crate) api_token: Option<String>,
    pub(crate) session_key: Option<String>,
    pub(crate) auth_mode: AuthMode,
    pub(crate) trust_loopback: bool,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) allow_any_origin: bool,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
}

impl Access {
    fn parse(a: &Args, net: &Network, supabase_enabled: bool) -> Result<Self, ConfigError> {
        let api_token = a.api_token.clone().filter(|t| !t.is_empty());
        if let Some(why) = api_token.as_deref().and_then(token_weakness) {
            return Err(err(
                "MAESTRO_API_TOKEN",
                format!("{why}; generate one with `openssl rand -hex 32`"),
            ));
        }
        let session_key = a.session_key.clone().filter(|t| !t.is_empty());
        if let Some(why) = session_key.as_deref().and_then(token_weakness) {
            return Err(err(
                "MAESTRO_SESSION_KEY",
                format!("{why}; generate one with `openssl rand -hex 32`"),
            ));
        }
        let auth_mode = auth_mode(a, api_token.is_some(), supabase_enabled)?;
        let trust_loopback = match (
            auth_mode,
            boolean("AUTH_TRUST_LOOPBACK", &a.auth_trust_loopback)?,
        ) {
            (AuthMode::None, _) => true,
            (AuthMode::Supabase, trust) => trust,
            (AuthMode::Token, false) => false,
            (AuthMode::Token, true) => {
                return Err(err(
                    "AUTH_TRUST_LOOPBACK",
                    "applies to AUTH_MODE=supabase only; in AUTH_MODE=token every caller sends \
                     MAESTRO_API_TOKEN",
                ));
            }
        };
        if auth_mode == AuthMode::None {
            if !net.host.is_loopback() {
                return Err(err(
                    "MAESTRO_API_TOKEN",
                    format!(
                        "HOST={} is reachable from the network; set a token or bind 127.0.0.1",
                        net.host
                    ),
                ));
            }
            if net.external_url.is_some() {
                return Err(err(
                    "MAESTRO_API_TOKEN",
                    "EXTERNAL_URL/CLOUDFLARE_TUNNEL_URL exposes the server; set a token",
                ));
            }
        }
        let mut allowed_origins = default_origins(net.port);
        let mut allow_any_origin = false;
        for o in a
            .cors_origins
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            if o == "*" {
                allow_any_origin = true;
            } else {
                allowed_origins.push(cors_origin(o)?);
            }
        }
        if let Some(u) = &net.external_url {
            allowed_origins.push(u.clone());
        }
        allowed_origins.push(url_origin("SERVER_URL", &net.server_url)?);
        allowed_origins.sort();
        allowed_origins.dedup();
        if allow_any_origin && auth_mode == AuthMode::None {
            return Err(err(
                "CORS_ORIGINS",
                "'*' lets any web page drive the API; it needs authentication \
                 (MAESTRO_API_TOKEN), or list the allowed origins instead",
            ));
        }
        Ok(Self {
            api_token,
            session_key,
            auth_mode,
            trust_loopback,
            allowed_origins,
            allow_any_origin,
            allowed_hosts: allowed_hosts(a, net)?,
            trusted_proxies: proxies(a.trusted_proxies.as_deref())?,
        })
    }
}

/// One `CORS_ORIGINS` entry as browsers send it in `Origin`: `scheme://host[:port]`, lower
/// case, no path (an entry with a path would never match).
fn cors_origin(o: &str) -> Result<String, ConfigError> {
    let o = o.trim_end_matches('/');
    let bad = || {
        err(
            "CORS_ORIGINS",
            format!(
                "'{o}' is not an origin: write scheme://host[:port] without a path, as browsers \
                 send it"
            ),
        )
    };
    let (scheme, host) = o.split_once("://").ok_or_else(bad)?;
    if scheme.is_empty() || host.is_empty() || host.contains(['/', '?', '#', ' ', '@']) {
        return Err(bad());
    }
    Ok(o.to_ascii_lowercase())
}

/// `AUTH_MODE`, or its default; checked against the settings each mode needs.
fn auth_mode(a: &Args, has_token: bool, supabase_enabled: bool) -> Result<AuthMode, ConfigError> {
    let mode = match a
        .auth_mode
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None if supabase_enabled => return Ok(AuthMode::Supabase),
        None if has_token => return Ok(AuthMode::Token),
        None => return Ok(AuthMode::None),
        Some(m) => match m.to_ascii_lowercase().as_str() {
            "none" => AuthMode::None,
            "token" => AuthMode::Token,
            "supabase" => AuthMode::Supabase,
            other => {
                return Err(err(
                    "AUTH_MODE",
                    format!("expected none, token or supabase, got '{other}'"),
                ));
            }
        },
    };
    match mode {
        AuthMode::None if has_token => Err(err(
            "AUTH_MODE",
            "AUTH_MODE=none but MAESTRO_API_TOKEN is set: remove one of them",
        )),
        AuthMode::Token if !has_token => Err(err(
            "AUTH_MODE",
            "AUTH_MODE=token needs MAESTRO_API_TOKEN (generate one with `openssl rand -hex 32`)",
        )),
        AuthMode::Supabase if !supabase_enabled => Err(err(
            "AUTH_MODE",
            "AUTH_MODE=supabase needs SUPABASE_ENABLED=true with SUPABASE_URL and its keys",
        )),
        mode => Ok(mode),
    }
}

/// `Host` names accepted besides localhost and loopback addresses.
fn allowed_hosts(a: &Args, net: &Network) -> Result<Vec<String>, ConfigError> {
    let mut hosts: Vec<String> = [Some(net.server_url.as_str()), net.external_url.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(url_host)
        .collect();
    if !net.host.is_unspecified() {
        hosts.push(net.host.to_string());
    }
    for h in a
        .allowed_hosts
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        let name = maestro_http::security::host_name(h);
        if name.is_empty() || name.contains(['/', ' ']) {
            return Err(err("ALLOWED_HOSTS", format!("'{h}' is not a host name")));
        }
        hosts.push(name);
    }
    hosts.sort();
    hosts.dedup();
    Ok(hosts)
}

/// Connection and wait limits.
pub(crate) struct Limits {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    client_write_timeout: Duration,
    max_connections: usize,
    max_mail_waits: usize,
    shutdown_timeout: Duration,
    shutdown_grace: Duration,
    event_log: maestro_domain::ports::Retention,
}

impl Limits {
    fn parse(a: &Args) -> Result<Self, ConfigError> {
        let limits = Self {
            header_read_timeout: seconds(
                "HEADER_READ_TIMEOUT_SECS",
                &a.header_read_timeout_secs,
                1..=300,
            )?,
            idle_timeout: seconds("IDLE_TIMEOUT_SECS", &a.idle_timeout_secs, 1..=3600)?,
            client_write_timeout: seconds(
                "CLIENT_WRITE_TIMEOUT_SECS",
                &a.client_write_timeout_secs,
                1..=300,
            )?,
            max_connections: count("MAX_CONNECTIONS", &a.max_connections, 16..=1_000_000)?,
            max_mail_waits: count("MAX_MAIL_WAITS", &a.max_mail_waits, 1..=1_000_000)?,
            shutdown_timeout: seconds("SHUTDOWN_TIMEOUT_SECS", &a.shutdown_timeout_secs, 1..=600)?,
            shutdown_grace: seconds("SHUTDOWN_GRACE_SECS", &a.shutdown_grace_secs, 0..=60)?,
            event_log: maestro_domain::ports::Retention {
                max_len: count("EVENT_LOG_MAX_LEN", &a.event_log_max_len, 1..=10_000_000)?,
                max_age: seconds(
                    "EVENT_LOG_MAX_AGE_SECS",
                    &a.event_log_max_age_secs,
                    1..=30 * 24 * 3600,
                )?,
            },
        };
        if limits.shutdown_grace >= limits.shutdown_timeout {
            return Err(ConfigError {
                var: "SHUTDOWN_GRACE_SECS",
                message: "must be less than SHUTDOWN_TIMEOUT_SECS (the grace is part of the drain)"
                    .into(),
            });
        }
        Ok(limits)
    }
}

/// Redis, Supabase and the mail backend.
pub(crate) struct Backends {
    pub(crate) redis_enabled: bool,
    pub(crate) redis_url: String,
    pub(crate) redis_key_prefix: String,
    pub(crate) supabase: Option<maestro_supabase::SupabaseConfig>,
    pub(crate) supabase_rest_url: Option<String>,
    pub(crate) mail_backend: MailBackend,
}

impl Backends {
    fn parse(a: &Args, supabase_enabled: bool) -> Result<Self, ConfigError> {
        let redis_enabled = boolean("REDIS_ENABLED", &a.redis_enabled)?;
        let mail_backend = mail_backend(a, redis_enabled, supabase_enabled)?;
        let redis_url = a.redis_url.trim().to_string();
        if redis_enabled
            && !(redis_url.starts_with("redis://")
                || redis_url.starts_with("rediss://")
                || redis_url.starts_with("valkey://"))
        {
            return Err(err(
                "REDIS_URL",
                format!("'{redis_url}' must start with redis://, rediss:// or valkey://"),
            ));
        }
        let redis_key_prefix = a.redis_key_prefix.trim().to_string();
        if redis_key_prefix.is_empty() || redis_key_prefix.contains(char::is_whitespace) {
            return Err(err(
                "REDIS_KEY_PREFIX",
                "must be non-empty and without spaces",
            ));
        }
        if mail_backend == MailBackend::Supabase && !supabase_enabled {
            return Err(err(
                "MAIL_BACKEND",
                "MAIL_BACKEND=supabase needs SUPABASE_ENABLED=true",
            ));
        }
        let migrating = matches!(a.command, Some(Command::Migrate { .. }));
        let supabase = if supabase_enabled || migrating {
            let lookup = |k: &str| match k {
                "SUPABASE_URL" => a.supabase_url.clone(),
                "SUPABASE_ANON_KEY" => a.supabase_anon_key.clone(),
                "SUPABASE_SERVICE_ROLE_KEY" => a.supabase_service_role_key.clone(),
                _ => None,
            };
            Some(
                maestro_supabase::SupabaseConfig::from_lookup(lookup)
                    .map_err(|e| err(e.variable, e.problem))?,
            )
        } else {
            None
        };
        let supabase_rest_url = match (
            &supabase,
            a.supabase_rest_url
                .as_deref()
                .filter(|u| !u.trim().is_empty()),
        ) {
            (None, _) => None,
            (Some(_), Some(u)) => {
                url_origin("SUPABASE_REST_URL", u)?;
                Some(u.trim().trim_end_matches('/').to_string())
            }
            (Some(s), None) => Some(s.rest_url()),
        };
        Ok(Self {
            redis_enabled,
            redis_url,
            redis_key_prefix,
            supabase,
            supabase_rest_url,
            mail_backend,
        })
    }
}

/// `MAIL_BACKEND` (default: supabase if enabled, else redis if enabled, else fs).
fn mail_backend(
    a: &Args,
    redis_enabled: bool,
    supabase_enabled: bool,
) -> Result<MailBackend, ConfigError> {
    let backend = match a.mail_backend.as_deref().map(str::trim) {
        None | Some("") => {
            if supabase_enabled {
                MailBackend::Supabase
            } else if redis_enabled {
                MailBackend::Redis
            } else {
                MailBackend::Fs
            }
        }
        Some("fs") => MailBackend::Fs,
        Some("redis") => MailBackend::Redis,
        Some("supabase") => MailBackend::Supabase,
        Some(other) => {
            return Err(err(
                "MAIL_BACKEND",
                format!("expected fs, redis or supabase, got '{other}'"),
            ));
        }
    };
    if backend == MailBackend::Redis && !redis_enabled {
        return Err(err(
            "MAIL_BACKEND",
            "MAIL_BACKEND=redis needs REDIS_ENABLED=true",
        ));
    }
    Ok(backend)
}

/// `METRICS_ADDR`: a loopback `ip:port` other than the main port (metrics there are not
/// authenticated, so they must not be reachable from the network).
fn metrics_addr(
    v: Option<&str>,
    main_port: u16,
) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let addr: std::net::SocketAddr =
        v.replacen("localhost:", "127.0.0.1:", 1)
            .parse()
            .map_err(|_| {
                err(
                    "METRICS_ADDR",
                    format!("'{v}' is not an address and port, e.g. 127.0.0.1:9464"),
                )
            })?;
    if !addr.ip().is_loopback() {
        return Err(err(
            "METRICS_ADDR",
            format!(
                "{} is reachable from the network, and this listener has no authentication; \
                 bind it to 127.0.0.1, or scrape /metrics on the main port with MAESTRO_API_TOKEN",
                addr.ip()
            ),
        ));
    }
    if addr.port() == 0 || addr.port() == main_port {
        return Err(err(
            "METRICS_ADDR",
            format!(
                "port {} must be a port of its own, not 0 or PORT",
                addr.port()
            ),
        ));
    }
    Ok(Some(addr))
}

/// The desktop app's origins (DEFECTS S2).
fn default_origins(port: u16) -> Vec<String> {
    let mut v = vec![
        "tauri://localhost".to_string(),
        "http://tauri.localhost".to_string(),
        "https://tauri.localhost".to_string(),
    ];
    let mut ports = vec![1420, 3000, 5173];
    if !ports.contains(&port) {
        ports.push(port);
    }
    for scheme in ["http", "https"] {
        for host in ["localhost", "127.0.0.1"] {
            for p in &ports {
                v.push(format!("{scheme}://{host}:{p}"));
            }
        }
    }
    v
}

/// Loopback default host, for tests.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[cfg(test)]
mod tests;
