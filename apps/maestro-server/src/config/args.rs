//! The command line and environment variables, as clap parses them (strings; validated by
//! [`Config::from_args`](super::Config::from_args)).

use clap::Parser;

/// Maestro Server: coordination hub for fleets of AI coding agents.
///
/// Every option can be given as a flag or as the environment variable shown in brackets.
#[derive(Debug, Clone, Parser)]
#[command(name = "maestro-server", version, about, long_about = None)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Listen port (1-65535).
    #[arg(long, env = "PORT", default_value = "3000")]
    pub port: String,

    /// Listen address. Anything but loopback requires MAESTRO_API_TOKEN.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// URL agents use to reach this server [default: `http://localhost:PORT`].
    #[arg(long, env = "SERVER_URL")]
    pub server_url: Option<String>,

    /// Data directory (FileSystem repositories; `server-url` file; modals).
    #[arg(long, env = "DATA_DIR", default_value = "~/.maestro/data")]
    pub data_dir: String,

    /// Where spawned sessions' manifests are written.
    #[arg(long, env = "SESSION_DIR", default_value = "~/.maestro/sessions")]
    pub session_dir: String,

    /// Skills directory (`<dir>/<skill>/SKILL.md`).
    #[arg(long, env = "SKILLS_DIR", default_value = "~/.claude/skills")]
    pub skills_dir: String,

    /// The maestro CLI used to generate spawn manifests [default: `maestro` on PATH].
    #[arg(long, env = "MAESTRO_CLI_PATH", default_value = "maestro")]
    pub cli_path: String,

    /// Seconds before a manifest generation is killed.
    #[arg(long, env = "MANIFEST_TIMEOUT_SECS", default_value = "60")]
    pub manifest_timeout_secs: String,

    /// Bearer token every client must send (`Authorization: Bearer …` or `?token=`) in
    /// AUTH_MODE=token; a server credential in AUTH_MODE=supabase.
    #[arg(long, env = "MAESTRO_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Key (≥ 32 characters) signing the session tokens spawned agents get as
    /// MAESTRO_SESSION_TOKEN; the same on every instance [default: a random key per process,
    /// so tokens stop working when it restarts].
    #[arg(long, env = "MAESTRO_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,

    /// How callers authenticate: `none` (direct loopback callers only), `token` (the shared
    /// MAESTRO_API_TOKEN) or `supabase` (a Supabase Auth access token on every request)
    /// [default: supabase with SUPABASE_ENABLED=true, else token with MAESTRO_API_TOKEN, else
    /// none].
    #[arg(long, env = "AUTH_MODE")]
    pub auth_mode: Option<String>,

    /// With AUTH_MODE=supabase only: a direct loopback caller without a token acts as the
    /// local user (for a desktop app that cannot sign in yet). Proxied requests never do.
    #[arg(long, env = "AUTH_TRUST_LOOPBACK", default_value = "false")]
    pub auth_trust_loopback: String,

    /// Extra allowed browser origins, comma-separated (`*` = any origin; not recommended).
    #[arg(long, env = "CORS_ORIGINS")]
    pub cors_origins: Option<String>,

    /// Public URL of this server (e.g. the Cloudflare Tunnel hostname); allowed as an origin.
    #[arg(long, env = "EXTERNAL_URL")]
    pub external_url: Option<String>,

    /// Alias of EXTERNAL_URL used by the tunnel docs.
    #[arg(long, env = "CLOUDFLARE_TUNNEL_URL")]
    pub cloudflare_tunnel_url: Option<String>,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value = "8388608")]
    pub max_body_bytes: String,

    /// What to do with a corrupt data file at start-up: `skip` (report, keep a .corrupt copy)
    /// or `refuse` (do not start).
    #[arg(long, env = "CORRUPT_FILES", default_value = "skip")]
    pub corrupt_files: String,

    /// Log threshold: error, warn, info or debug.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log line format: pretty or compact.
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty")]
    pub log_format: String,

    /// `true` forces LOG_LEVEL=debug.
    #[arg(long, env = "DEBUG", default_value = "false")]
    pub debug: String,

    /// Accepted for compatibility with the desktop launcher: development, production or test.
    #[arg(long, env = "NODE_ENV", default_value = "development")]
    pub node_env: String,

    /// Use Redis for events, presence, locks (and mail, see MAIL_BACKEND).
    #[arg(long, env = "REDIS_ENABLED", default_value = "false")]
    pub redis_enabled: String,

    /// Redis connection URL.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    /// Prefix of every Redis key and channel.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "maestro:")]
    pub redis_key_prefix: String,

    /// Use Supabase (PostgREST, Auth, Storage) for durable data.
    #[arg(long, env = "SUPABASE_ENABLED", default_value = "false")]
    pub supabase_enabled: String,

    /// `https://<ref>.supabase.co`.
    #[arg(long, env = "SUPABASE_URL")]
    pub supabase_url: Option<String>,

    /// Supabase anon key.
    #[arg(long, env = "SUPABASE_ANON_KEY", hide_env_values = true)]
    pub supabase_anon_key: Option<String>,

    /// Supabase service-role key.
    #[arg(long, env = "SUPABASE_SERVICE_ROLE_KEY", hide_env_values = true)]
    pub supabase_service_role_key: Option<String>,

    /// Legacy HS256 JWT secret of the Supabase project, if its tokens are still signed with it
    /// (asymmetric keys are fetched from the project's JWKS).
    #[arg(long, env = "SUPABASE_JWT_SECRET", hide_env_values = true)]
    pub supabase_jwt_secret: Option<String>,

    /// PostgREST base URL [default: `SUPABASE_URL/rest/v1`]; for self-hosted PostgREST.
    #[arg(long, env = "SUPABASE_REST_URL")]
    pub supabase_rest_url: Option<String>,

    /// Mail storage: fs, redis or supabase [default: supabase if enabled, else redis if
    /// enabled, else fs].
    #[arg(long, env = "MAIL_BACKEND")]
    pub mail_backend: Option<String>,

    /// Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For /
    /// CF-Connecting-IP headers are believed for the client address.
    #[arg(long, env = "TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,

    /// Extra host names accepted in the Host header (comma-separated), besides localhost,
    /// loopback addresses, HOST and the hosts of SERVER_URL and EXTERNAL_URL.
    #[arg(long, env = "ALLOWED_HOSTS")]
    pub allowed_hosts: Option<String>,

    /// Seconds a client has to send a request's header.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value = "10")]
    pub header_read_timeout_secs: String,

    /// Seconds an open connection may sit idle (no request in flight, no bytes).
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value = "75")]
    pub idle_timeout_secs: String,

    /// Seconds a client may leave its socket unread (send buffer full) before it is
    /// disconnected.
    #[arg(long, env = "CLIENT_WRITE_TIMEOUT_SECS", default_value = "10")]
    pub client_write_timeout_secs: String,

    /// Connections served at once (more are closed at accept).
    #[arg(long, env = "MAX_CONNECTIONS", default_value = "4096")]
    pub max_connections: String,

    /// Mail long-poll waits pending at once across all sessions (429 beyond).
    #[arg(long, env = "MAX_MAIL_WAITS", default_value = "1024")]
    pub max_mail_waits: String,

    /// Seconds a SIGTERM/SIGINT drain may take (pending long-polls answered, sockets closed,
    /// in-flight requests finished) before the process exits anyway, with status 1.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value = "10")]
    pub shutdown_timeout_secs: String,

    /// Seconds after SIGTERM/SIGINT during which the server still accepts connections and
    /// answers `/health/ready` with `503 draining`, so that a load balancer stops sending it
    /// traffic before its listener closes (part of `SHUTDOWN_TIMEOUT_SECS`).
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value = "1")]
    pub shutdown_grace_secs: String,

    /// Events kept per project for clients that reconnect and resume (`auth.offset`,
    /// `state:sync {since}`).
    #[arg(long, env = "EVENT_LOG_MAX_LEN", default_value = "10000")]
    pub event_log_max_len: String,

    /// Seconds an event stays in its project's log (and a quiet project's log lives).
    #[arg(long, env = "EVENT_LOG_MAX_AGE_SECS", default_value = "86400")]
    pub event_log_max_age_secs: String,

    /// A second listener serving only `GET /metrics`, without authentication, for a
    /// Prometheus on this machine: a loopback address and port (e.g. `127.0.0.1:9464`)
    /// [default: none; `/metrics` is on the main port for the server's credential].
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<String>,

    /// The VAPID private key that signs Web Push requests: base64url of the 32-byte P-256
    /// scalar (`npx web-push generate-vapid-keys` prints one). Every instance of one
    /// deployment needs the same key [default: generated on first start and kept in
    /// `DATA_DIR/vapid.json`].
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<String>,

    /// The contact push services may write to about this server: `mailto:` or `https:`.
    /// Default: `mailto:maestro@localhost`.
    #[arg(long, env = "VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,

    /// Origins Web Push may reach although they are not public https (comma-separated, e.g.
    /// `http://127.0.0.1:9000`): tests and private push services [default: none].
    #[arg(long, env = "PUSH_ENDPOINT_ALLOWLIST")]
    pub push_endpoint_allowlist: Option<String>,
}

/// Subcommands (none: run the server).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Copy data between backends.
    Migrate {
        #[command(subcommand)]
        target: MigrateTarget,
    },
    /// Check the configuration as the server would load it, and every backend it names;
    /// print one line per check with a fix for each failure. Exits 1 when a check fails.
    Doctor {
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
}

/// Where `migrate` copies to.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MigrateTarget {
    /// Copy a FileSystem data directory into Supabase (SUPABASE_URL and keys), idempotently.
    ToSupabase {
        /// The data directory to read [default: DATA_DIR].
        #[arg(long = "data-dir", value_name = "DIR")]
        source: Option<String>,
        /// Report what would change without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}
