//! `maestro-server doctor`: the configuration as the server would load it, and every backend it
//! names, checked one by one; a table (or `--json`) with a fix for each failure.
//!
//! Each group of settings is validated on its own ([`Sections`]), so one invalid variable does
//! not hide the state of the backends. A check is `ok`, `warn` (works, with a caveat),
//! `fail` (the server would not start, or a feature would not work) or `skip` (not configured,
//! or it depends on a check that failed). The exit status is 1 when any check fails.
//!
//! Nothing is changed anywhere: the data directory gets a probe file that is removed, Redis
//! gets `CONFIG SET notify-keyspace-events` to the value it already has, PostgREST gets reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use maestro_http::AuthMode;
use maestro_supabase::schema::{self, SchemaStatus};
use maestro_supabase::{PostgrestClient, PostgrestError, SigningCheck, SupabaseAuth};
use serde::Serialize;

use crate::config::{Args, Backends, ConfigError, MailBackend, Sections, expand_home};

/// How long any one backend may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn skip(name: &'static str, why: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Skip,
            detail: why.into(),
            fix: None,
        }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every check, in a fixed order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// No check failed.
    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    /// `{ok, failed, warnings, checks: [{name, status, detail, fix?}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.passed(),
            "failed": self.count(Status::Fail),
            "warnings": self.count(Status::Warn),
            "checks": self.checks,
        })
    }

    /// The table people read.
    pub fn render(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let indent = " ".repeat(width + 9);
        let mut out = format!(
            "maestro-server doctor: {} checks, {} failed, {} warnings\n\n",
            self.checks.len(),
            self.count(Status::Fail),
            self.count(Status::Warn)
        );
        for c in &self.checks {
            let mut lines = c.detail.lines();
            out.push_str(&format!(
                " {:<5} {:<width$}  {}\n",
                c.status.label(),
                c.name,
                lines.next().unwrap_or("")
            ));
            for l in lines {
                out.push_str(&format!("{indent}{l}\n"));
            }
            if let Some(fix) = &c.fix {
                out.push_str(&format!("{indent}fix: {fix}\n"));
            }
        }
        out
    }
}

/// Runs every check of the configuration in `args` (`home` expands `~`).
pub async fn run(args: &Args, home: Option<&Path>) -> Report {
    let sections = Sections::validate(args);
    let mut checks = vec![config(&sections)];
    checks.extend(access(&sections));
    checks.push(data_dir(args, home, &sections));
    checks.extend(redis(&sections).await);
    checks.extend(supabase(args, &sections).await);
    checks.push(spawn_cli(&expand_home(&args.cli_path, home)));
    Report { checks }
}

/// Variables that belong to the `auth` check.
const AUTH_VARS: &[&str] = &[
    "MAESTRO_API_TOKEN",
    "MAESTRO_SESSION_KEY",
    "AUTH_MODE",
    "AUTH_TRUST_LOOPBACK",
];

fn config_error_lines(errors: &[&ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.var, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every variable outside the access settings.
fn config(s: &Sections) -> Check {
    let errors: Vec<&ConfigError> = [
        s.network.as_ref().err(),
        s.general.as_ref().err(),
        s.supabase_enabled.as_ref().err(),
        s.limits.as_ref().err(),
        s.backends.as_ref().err(),
        s.metrics_addr.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if errors.is_empty() {
        Check::ok("config", "every variable is valid")
    } else {
        Check::fail(
            "config",
            config_error_lines(&errors),
            "correct the variables named (maestro-server --help describes each)",
        )
    }
}

/// `auth` (mode, token, session key) and `exposure` (EXTERNAL_URL, CORS, Host).
fn access(s: &Sections) -> [Check; 2] {
    let (net, access) = match (&s.network, &s.access) {
        (Err(_), _) | (_, None) => {
            let why = "depends on PORT, HOST, SERVER_URL and EXTERNAL_URL (see config)";
            return [Check::skip("auth", why), Check::skip("exposure", why)];
        }
        (_, Some(Err(e))) if AUTH_VARS.contains(&e.var) => {
            return [
                Check::fail("auth", format!("{}: {}", e.var, e.message), auth_fix(e)),
                Check::skip("exposure", "depends on the auth settings"),
            ];
        }
        (_, Some(Err(e))) => {
            return [
                Check::skip("auth", "depends on the exposure settings"),
                Check::fail(
                    "exposure",
                    format!("{}: {}", e.var, e.message),
                    "correct it (docs/SECURITY.md, docs/CONFIGURATION.md)",
                ),
            ];
        }
        (Ok(net), Some(Ok(a))) => (net, a),
    };
    let redis_enabled = s.backends.as_ref().is_ok_and(|b| b.redis_enabled);
    let token = match &access.api_token {
        Some(t) => format!(
            "MAESTRO_API_TOKEN set ({} characters, strong)",
            t.chars().count()
        ),
        None => "no MAESTRO_API_TOKEN".into(),
    };
    let mode = match access.auth_mode {
        AuthMode::None => "AUTH_MODE=none: only direct callers on this machine are served".into(),
        AuthMode::Token => "AUTH_MODE=token: every caller sends the token".to_string(),
        AuthMode::Supabase => format!(
            "AUTH_MODE=supabase: people sign in with Supabase Auth{}",
            if access.trust_loopback {
                "; direct loopback callers act as the local user (AUTH_TRUST_LOOPBACK)"
            } else {
                ""
            }
        ),
    };
    let auth = if access.session_key.is_none() && redis_enabled {
        Check::warn(
            "auth",
            format!(
                "{mode}; {token}\nMAESTRO_SESSION_KEY is unset: each instance signs agents' \
                 session tokens with a random key of its own, so a token fails on another \
                 instance and after a restart"
            ),
            "set the same MAESTRO_SESSION_KEY (openssl rand -hex 32) on every instance",
        )
    } else {
        Check::ok("auth", format!("{mode}; {token}"))
    };
    [auth, exposure(net, access)]
}

fn auth_fix(e: &ConfigError) -> String {
    match e.var {
        "MAESTRO_API_TOKEN" | "MAESTRO_SESSION_KEY" => format!(
            "set {} to a random secret: openssl rand -hex 32 (docs/SECURITY.md)",
            e.var
        ),
        _ => "see AUTH_MODE in docs/CONFIGURATION.md and docs/SECURITY.md".into(),
    }
}

/// Whether a URL's host is this machine.
fn is_local_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok()
}

fn default_port(url: &str) -> u16 {
    url_port(url).unwrap_or(if url.starts_with("https://") { 443 } else { 80 })
}

fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    maestro_http::security::host_name(authority)
}

/// EXTERNAL_URL, SERVER_URL, CORS and `Host` settings agree with each other and with where
/// the server listens.
fn exposure(net: &crate::config::Network, access: &crate::config::Access) -> Check {
    let mut warnings: Vec<(String, &str)> = Vec::new();
    if let Some(ext) = &net.external_url
        && ext.starts_with("http://")
        && !is_local_host(&url_host(ext))
    {
        warnings.push((
            format!(
                "EXTERNAL_URL {ext} is plain http: the token and everything else cross the \
                 network in clear, and phones will not install the app"
            ),
            "serve it over https (a Cloudflare Tunnel does; docs/DEPLOYMENT.md)",
        ));
    }
    if is_local_host(&url_host(&net.server_url)) && default_port(&net.server_url) != net.port {
        warnings.push((
            format!(
                "SERVER_URL {} is this machine on port {}, but the server listens on PORT {}: \
                 agents it spawns would not reach it",
                net.server_url,
                default_port(&net.server_url),
                net.port
            ),
            "make SERVER_URL's port PORT, or leave SERVER_URL unset",
        ));
    }
    if access.allow_any_origin {
        warnings.push((
            "CORS_ORIGINS=* lets any web page call the API with a token it holds".into(),
            "list the allowed origins instead of *",
        ));
    }
    if net.external_url.is_some() && !net.host.is_loopback() {
        warnings.push((
            format!(
                "HOST={} listens on the network as well as behind EXTERNAL_URL (a tunnel needs \
                 only loopback)",
                net.host
            ),
            "bind HOST=127.0.0.1 when a tunnel is the way in",
        ));
    }
    let extra_hosts: Vec<&str> = access
        .allowed_hosts
        .iter()
        .map(String::as_str)
        .filter(|h| !is_local_host(h))
        .collect();
    let summary = format!(
        "listens on {}:{}; SERVER_URL {}; EXTERNAL_URL {}; Host accepted: localhost, loopback \
         addresses{}",
        net.host,
        net.port,
        net.server_url,
        net.external_url.as_deref().unwrap_or("(none)"),
        extra_hosts
            .iter()
            .map(|h| format!(", {h}"))
            .collect::<String>()
    );
    if warnings.is_empty() {
        return Check::ok("exposure", summary);
    }
    let detail = std::iter::once(summary)
        .chain(warnings.iter().map(|(w, _)| w.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    let fix = warnings
        .iter()
        .map(|(_, f)| *f)
        .collect::<Vec<_>>()
        .join("; ");
    Check::warn("exposure", detail, fix)
}

/// The data directory: exists or can be created, writable, not locked by another server
/// (when the FileSystem store would open it).
fn data_dir(args: &Args, home: Option<&Path>, s: &Sections) -> Check {
    const NAME: &str = "data_dir";
    let dir = expand_home(&args.data_dir, home);
    let shown = dir.display();
    let uses_store = match &s.backends {
        Ok(b) => {
            !*s.supabase_enabled.as_ref().unwrap_or(&false) || b.mail_backend == MailBackend::Fs
        }
        Err(_) => true,
    };
    if !dir.exists() {
        let parent = existing_ancestor(&dir);
        return match parent.as_deref().map(writable) {
            Some(Ok(())) => Check::ok(NAME, format!("{shown} will be created")),
            Some(Err(e)) => Check::fail(
                NAME,
                format!("{shown} does not exist and cannot be created: {e}"),
                "create it for the server's user, or set DATA_DIR",
            ),
            None => Check::fail(
                NAME,
                format!("{shown} has no existing parent"),
                "set DATA_DIR to an absolute path",
            ),
        };
    }
    if let Err(e) = writable(&dir) {
        return Check::fail(
            NAME,
            format!("cannot write in {shown}: {e}"),
            "give the server's user write access to it, or set DATA_DIR",
        );
    }
    if !uses_store {
        return Check::ok(
            NAME,
            format!("{shown} is writable (Supabase keeps the data; server-url and modals go here)"),
        );
    }
    match maestro_fs::lock_holder(&dir) {
        Ok(maestro_fs::LockHolder::Free) => {
            Check::ok(NAME, format!("{shown} is writable and free"))
        }
        Ok(maestro_fs::LockHolder::Held { pid }) => Check::fail(
            NAME,
            format!(
                "{shown} is in use by another maestro-server{}",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ),
            "stop that server, or give this one its own DATA_DIR",
        ),
        Err(e) => Check::fail(
            NAME,
            format!("cannot check the lock of {shown}: {e}"),
            "give the server's user access to DATA_DIR",
        ),
    }
}

fn existing_ancestor(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .skip(1)
        .find(|p| !p.as_os_str().is_empty() && p.is_dir())
        .map(Path::to_path_buf)
}

/// Writes and removes a probe file in `dir`.
fn writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".maestro-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(&probe)
}

/// `redis` (reachable, version) and `redis_keyspace_events`.
async fn redis(s: &Sections) -> [Check; 2] {
    let b = match &s.backends {
        Ok(b) if b.redis_enabled => b,
        Ok(_) => {
            return [
                Check::skip(
                    "redis",
                    "REDIS_ENABLED=false: in-memory events and presence",
                ),
                Check::skip("redis_keyspace_events", "REDIS_ENABLED=false"),
            ];
        }
        Err(_) => {
            return [
                Check::skip("redis", "the backend settings are invalid (see config)"),
                Check::skip("redis_keyspace_events", "the backend settings are invalid"),
            ];
        }
    };
    let mut config = maestro_redis::RedisConfig::new(&b.redis_url, &b.redis_key_prefix);
    config.connect_timeout = TIMEOUT;
    config.command_timeout = TIMEOUT;
    let shown = redact(&b.redis_url);
    let diagnosis =
        match tokio::time::timeout(TIMEOUT * 2, maestro_redis::diagnose::diagnose(&config)).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                return [
                    Check::fail(
                        "redis",
                        format!("cannot reach Redis at {shown}: {e}"),
                        "start Redis, correct REDIS_URL, or set REDIS_ENABLED=false",
                    ),
                    Check::skip("redis_keyspace_events", "needs a reachable Redis"),
                ];
            }
            Err(_) => {
                return [
                    Check::fail(
                        "redis",
                        format!(
                            "Redis at {shown} did not answer within {}s",
                            (TIMEOUT * 2).as_secs()
                        ),
                        "check REDIS_URL and the network to it",
                    ),
                    Check::skip("redis_keyspace_events", "needs a reachable Redis"),
                ];
            }
        };
    let (major, minor) = maestro_redis::diagnose::MIN_VERSION;
    let redis = if diagnosis.version_ok {
        Check::ok(
            "redis",
            format!(
                "Redis {} at {shown}, key prefix {}",
                diagnosis.version, b.redis_key_prefix
            ),
        )
    } else {
        Check::fail(
            "redis",
            format!(
                "Redis at {shown} is version '{}'; {major}.{minor} or later is needed \
                 (XTRIM MINID)",
                diagnosis.version
            ),
            format!("upgrade Redis (or Valkey) to {major}.{minor} or later"),
        )
    };
    let keyspace = match diagnosis.keyspace_events {
        Ok(flags) => Check::ok(
            "redis_keyspace_events",
            format!(
                "notify-keyspace-events can be set (now '{flags}'; the server adds 'Ex' at \
                 start, so a lapsed agent is seen at once)"
            ),
        ),
        Err(e) => Check::warn(
            "redis_keyspace_events",
            format!(
                "CONFIG SET notify-keyspace-events is refused ({e}): lapsed agents are found by \
                 the periodic sweep only, up to a second late"
            ),
            "enable notify-keyspace-events 'Ex' in the Redis provider's settings, or allow \
             CONFIG SET",
        ),
    };
    [redis, keyspace]
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Whether a PostgREST error means the credential was refused (bad, expired or foreign JWT).
fn key_refused(e: &PostgrestError) -> bool {
    e.code().is_some_and(|c| c.starts_with("PGRST30"))
        || (e.status == 401 && e.code() != Some("42501"))
}

/// Whether it means the schema (table or function) is not there: PostgREST's codes, or a
/// bare 404 (what PostgREST-compatible servers such as postrust answer).
fn schema_missing(e: &PostgrestError) -> bool {
    matches!(e.code(), Some("PGRST202" | "PGRST205" | "42P01" | "42883"))
        || (e.status == 404 && e.code().is_none())
}

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, PostgrestError>>,
) -> Result<T, PostgrestError> {
    tokio::time::timeout(TIMEOUT, f).await.unwrap_or_else(|_| {
        Err(PostgrestError::protocol(format!(
            "no answer within {}s",
            TIMEOUT.as_secs()
        )))
    })
}

/// `supabase_api`, `supabase_anon_key`, `supabase_jwt`, `supabase_migrations`, `supabase_rls`.
async fn supabase(args: &Args, s: &Sections) -> Vec<Check> {
    const NAMES: [&str; 5] = [
        "supabase_api",
        "supabase_anon_key",
        "supabase_jwt",
        "supabase_migrations",
        "supabase_rls",
    ];
    let skip_all = |why: &str| NAMES.iter().map(|n| Check::skip(n, why)).collect();
    let (b, sb) = match (&s.supabase_enabled, &s.backends) {
        (Ok(false), _) => return skip_all("SUPABASE_ENABLED=false: FileSystem storage"),
        (
            Ok(true),
            Ok(
                b @ Backends {
                    supabase: Some(sb), ..
                },
            ),
        ) => (b, sb),
        _ => return skip_all("the Supabase settings are invalid (see config)"),
    };
    let rest = b.supabase_rest_url.clone().unwrap_or_else(|| sb.rest_url());
    let service = PostgrestClient::service(&rest, &sb.service_role_key);
    let mut checks = Vec::new();

    // The service-role key.
    let reached = match timed(service.ping("projects")).await {
        Ok(()) => {
            checks.push(Check::ok(
                "supabase_api",
                format!("PostgREST at {rest} accepts SUPABASE_SERVICE_ROLE_KEY"),
            ));
            true
        }
        Err(e) if schema_missing(&e) => {
            checks.push(Check::ok(
                "supabase_api",
                format!("PostgREST at {rest} accepts SUPABASE_SERVICE_ROLE_KEY"),
            ));
            true
        }
        Err(e) if e.status == 0 => {
            checks.push(Check::fail(
                "supabase_api",
                format!("cannot reach PostgREST at {rest}: {e}"),
                "check SUPABASE_URL (or SUPABASE_REST_URL) and the network to it",
            ));
            false
        }
        Err(e) if key_refused(&e) => {
            checks.push(Check::fail(
                "supabase_api",
                format!("PostgREST at {rest} refuses SUPABASE_SERVICE_ROLE_KEY: {e}"),
                "copy the service_role key from the project's API settings",
            ));
            false
        }
        Err(e) if e.code() == Some("42501") => {
            checks.push(Check::fail(
                "supabase_api",
                format!(
                    "SUPABASE_SERVICE_ROLE_KEY is accepted but may not read projects ({e}): it \
                     is not the service_role key"
                ),
                "copy the service_role key (not the anon key) from the project's API settings",
            ));
            false
        }
        Err(e) => {
            checks.push(Check::fail(
                "supabase_api",
                format!("PostgREST at {rest} answered: {e}"),
                "check SUPABASE_URL and the project's status",
            ));
            false
        }
    };
    if !reached {
        checks.extend(
            NAMES[1..]
                .iter()
                .map(|n| Check::skip(n, "needs PostgREST and the service key (supabase_api)")),
        );
        return checks;
    }

    // The anon key: a refused JWT is an error; a permission error means PostgREST verified it.
    let anon = PostgrestClient::for_user(&rest, &sb.anon_key, &sb.anon_key);
    checks.push(match timed(anon.ping("projects")).await {
        Err(e) if key_refused(&e) => Check::fail(
            "supabase_anon_key",
            format!("PostgREST refuses SUPABASE_ANON_KEY: {e}"),
            "copy the anon (public) key of the same project from its API settings",
        ),
        Err(e) if e.status == 0 => Check::fail(
            "supabase_anon_key",
            format!("PostgREST did not answer: {e}"),
            "check the network to PostgREST",
        ),
        _ => Check::ok("supabase_anon_key", "PostgREST accepts SUPABASE_ANON_KEY"),
    });

    // How users' tokens are verified.
    let auth_mode = s
        .access
        .as_ref()
        .and_then(|a| a.as_ref().ok())
        .map(|a| a.auth_mode);
    checks.push(if auth_mode == Some(AuthMode::Supabase) {
        let secret = args.supabase_jwt_secret.clone().filter(|x| !x.is_empty());
        let auth = SupabaseAuth::new(&sb.url, None, secret);
        match tokio::time::timeout(TIMEOUT, auth.check_signing(&sb.anon_key)).await {
            Ok(SigningCheck::Ready(how)) => Check::ok("supabase_jwt", how),
            Ok(SigningCheck::Broken(why)) => Check::fail(
                "supabase_jwt",
                format!("signed-in users' tokens cannot be verified: {why}"),
                "set SUPABASE_JWT_SECRET to the project's JWT secret (HS256 projects), or make \
                 SUPABASE_URL reachable for its signing keys",
            ),
            Err(_) => Check::fail(
                "supabase_jwt",
                "the project's signing keys did not arrive in time",
                "check SUPABASE_URL and the network to it",
            ),
        }
    } else {
        Check::skip(
            "supabase_jwt",
            "AUTH_MODE is not supabase: no user tokens to verify",
        )
    });

    // Migrations and row-level security.
    match timed(schema::schema_status(&service)).await {
        Ok(status) => {
            checks.push(migrations_check(&status));
            checks.push(rls_check(&status));
        }
        Err(e) if schema_missing(&e) => {
            let earlier = timed(service.ping("projects")).await.is_ok();
            let first_missing = schema::MIGRATIONS
                .iter()
                .position(|m| m.version == schema::SCHEMA_VERSION_MIGRATION)
                .unwrap_or(0);
            let from = if earlier { first_missing } else { 0 };
            let files: Vec<String> = schema::MIGRATIONS[from..]
                .iter()
                .map(|m| format!("migrations/{}", m.file_name()))
                .collect();
            checks.push(Check::fail(
                "supabase_migrations",
                if earlier {
                    format!(
                        "the database predates the schema version (no maestro_schema_status()); \
                         {} migration(s) are missing",
                        files.len()
                    )
                } else {
                    "no Maestro migration is applied (no projects table)".to_string()
                },
                format!(
                    "apply, in order: {} (supabase db push, or psql -f each)",
                    files.join(", ")
                ),
            ));
            checks.push(Check::skip(
                "supabase_rls",
                "needs the schema-version migration (see supabase_migrations)",
            ));
        }
        Err(e) => {
            checks.push(Check::fail(
                "supabase_migrations",
                format!("maestro_schema_status() failed: {e}"),
                "check the service key and the database",
            ));
            checks.push(Check::skip("supabase_rls", "needs maestro_schema_status()"));
        }
    }
    checks
}

fn migrations_check(status: &SchemaStatus) -> Check {
    let missing = status.missing();
    let unknown = status.unknown();
    if !missing.is_empty() {
        let files: Vec<String> = missing
            .iter()
            .map(|m| format!("migrations/{}", m.file_name()))
            .collect();
        return Check::fail(
            "supabase_migrations",
            format!("{} migration(s) missing: {}", files.len(), files.join(", ")),
            "apply them in order (supabase db push, or psql -f each)",
        );
    }
    let latest = schema::MIGRATIONS.last().map_or("", |m| m.version);
    if !unknown.is_empty() {
        return Check::warn(
            "supabase_migrations",
            format!(
                "every migration of this server is applied, and {} it does not know ({}): a \
                 newer server migrated this database",
                unknown.len(),
                unknown.join(", ")
            ),
            "run the newer server, or make sure those migrations are backward compatible",
        );
    }
    Check::ok(
        "supabase_migrations",
        format!(
            "all {} migrations applied (latest {latest})",
            schema::MIGRATIONS.len()
        ),
    )
}

fn rls_check(status: &SchemaStatus) -> Check {
    let unprotected = status.unprotected();
    if !unprotected.is_empty() {
        return Check::fail(
            "supabase_rls",
            format!(
                "row-level security is off on (or the table is missing): {}; users could read \
                 other people's projects",
                unprotected.join(", ")
            ),
            "apply migrations/20261121000300_maestro_rls.sql and the later migrations again",
        );
    }
    let others = status.others_without_rls();
    if !others.is_empty() {
        return Check::warn(
            "supabase_rls",
            format!(
                "row-level security on all {} Maestro tables; other tables of public have it \
                 off: {}",
                schema::TABLES.len(),
                others.join(", ")
            ),
            "enable row-level security on them, or move them out of the API schema",
        );
    }
    Check::ok(
        "supabase_rls",
        format!(
            "row-level security on all {} Maestro tables",
            schema::TABLES.len()
        ),
    )
}

/// The `maestro` CLI that spawn runs to write manifests.
fn spawn_cli(cli: &Path) -> Check {
    const NAME: &str = "spawn_cli";
    let found = if cli.components().count() > 1 || cli.is_absolute() {
        Some(cli.to_path_buf()).filter(|p| is_executable(p))
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(cli))
                .find(|p| is_executable(p))
        })
    };
    match found {
        Some(p) => Check::ok(
            NAME,
            format!("{} (spawn writes manifests with it)", p.display()),
        ),
        None => Check::warn(
            NAME,
            format!(
                "MAESTRO_CLI_PATH '{}' is not an executable on PATH: spawning sessions fails \
                 (everything else works)",
                cli.display()
            ),
            "install the Maestro CLI (maestro-cli), or set MAESTRO_CLI_PATH to its bin/maestro.js",
        ),
    }
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    const GOOD_TOKEN: &str = "9f1c2e8b7d60534a1b2c3d4e5f60718293a4b5c6d7e8f9012";

    fn sections(extra: &[&str]) -> (Args, Sections) {
        let mut v = vec!["maestro-server"];
        v.extend_from_slice(extra);
        let a = Args::parse_from(v);
        let s = Sections::validate(&a);
        (a, s)
    }

    fn status_of(checks: &[Check], name: &str) -> Status {
        checks.iter().find(|c| c.name == name).unwrap().status
    }

    #[test]
    fn every_broken_section_is_reported_at_once() {
        let (_, s) = sections(&["--log-level", "loud", "--max-connections", "3"]);
        let c = config(&s);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("LOG_LEVEL") && c.detail.contains("MAX_CONNECTIONS"));
    }

    #[test]
    fn a_weak_token_fails_auth_alone() {
        let (_, s) = sections(&["--api-token", "short"]);
        assert_eq!(config(&s).status, Status::Ok);
        let checks = access(&s);
        assert_eq!(status_of(&checks, "auth"), Status::Fail);
        assert!(
            checks[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("openssl rand -hex 32")
        );
        assert_eq!(status_of(&checks, "exposure"), Status::Skip);
    }

    #[test]
    fn exposure_warns_on_what_does_not_fit_together() {
        let (_, s) = sections(&[
            "--api-token",
            GOOD_TOKEN,
            "--external-url",
            "http://maestro.example.com",
            "--server-url",
            "http://localhost:4000",
            "--cors-origins",
            "*",
        ]);
        let checks = access(&s);
        let e = &checks[1];
        assert_eq!(e.status, Status::Warn, "{e:?}");
        assert!(e.detail.contains("plain http"), "{}", e.detail);
        assert!(e.detail.contains("PORT 3000"), "{}", e.detail);
        assert!(e.detail.contains("CORS_ORIGINS=*"), "{}", e.detail);
        let (_, s) = sections(&[
            "--api-token",
            GOOD_TOKEN,
            "--external-url",
            "https://maestro.example.com",
        ]);
        assert_eq!(access(&s)[1].status, Status::Ok);
    }

    #[test]
    fn session_key_matters_with_several_instances() {
        let (_, s) = sections(&["--redis-enabled", "true"]);
        assert_eq!(access(&s)[0].status, Status::Warn);
        let (_, s) = sections(&["--redis-enabled", "true", "--session-key", GOOD_TOKEN]);
        assert_eq!(access(&s)[0].status, Status::Ok);
    }

    #[test]
    fn the_spawn_cli_is_looked_up_on_path_or_as_given() {
        assert_eq!(spawn_cli(Path::new("sh")).status, Status::Ok);
        assert_eq!(spawn_cli(Path::new("/bin/sh")).status, Status::Ok);
        assert_eq!(
            spawn_cli(Path::new("maestro-cli-that-is-not-installed")).status,
            Status::Warn
        );
        // A file that is not executable.
        let dir = std::env::temp_dir().join(format!("maestro-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("maestro");
        std::fs::write(&plain, b"#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(spawn_cli(&plain).status, Status::Warn);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_table_shows_fixes_under_their_check() {
        let report = Report {
            checks: vec![
                Check::ok("config", "every variable is valid"),
                Check::fail("redis", "cannot reach Redis", "start Redis"),
            ],
        };
        let text = report.render();
        assert!(text.contains("2 checks, 1 failed, 0 warnings"), "{text}");
        assert!(text.contains(" FAIL  redis   cannot reach Redis"), "{text}");
        assert!(text.contains("fix: start Redis"), "{text}");
        assert!(!report.passed());
        assert_eq!(report.to_json()["failed"], 1);
    }
}
