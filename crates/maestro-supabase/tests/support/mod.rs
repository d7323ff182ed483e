//! Test support: a PostgreSQL database with the shim and the migrations, and one postrust
//! (PostgREST stand-in) process per test binary, plus HS256 JWTs.
//!
//! Needs `psql` and a PostgreSQL superuser at `MAESTRO_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432`; when nothing listens there but PostgreSQL is
//! installed, or with `MAESTRO_TEST_PG=private`, a private cluster of the binary), and the `postrust` binary (`POSTRUST_BIN`, else
//! `postrust` on PATH or in `~/.cargo/bin`; `cargo install postrust-server --version 3.1.0`).
//! When one is missing: with `CI` set the test fails; otherwise the test skips loudly and is
//! listed after the binary's summary ([`env`] is the one place deciding that).
//!
//! Each binary gets its own database `maestro_supabase_test_<name>_<pid>` (databases of dead
//! runs are dropped at start) and a postrust on a free port, stopped when the binary exits (it
//! runs under `sh`, which kills it when the test process's stdin pipe closes).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use maestro_supabase::{PostgrestClient, SupabaseRepos};
use serde_json::{Value, json};
use sha2::Sha256;

pub const JWT_SECRET: &str = "maestro-test-jwt-secret-with-at-least-32-characters";
pub const ANON_KEY_CLAIMS: &str = "anon";

/// The running services of this test binary.
pub struct Env {
    pub pg_base: String,
    pub db: String,
    pub rest_url: String,
    pub service_jwt: String,
    pub anon_jwt: String,
    _postrust: Mutex<Child>,
}

static ENV: OnceLock<Result<Env, String>> = OnceLock::new();

/// The services, started once per binary; `None` when they cannot be: the calling test fails
/// under `CI` and skips loudly otherwise (`maestro_testkit::services::missing`), and the
/// other tests of the binary go on.
pub fn env() -> Option<&'static Env> {
    match ENV.get_or_init(start) {
        Ok(env) => Some(env),
        Err(why) => {
            maestro_testkit::services::missing(
                &format!("PostgreSQL and postrust are needed: {why}"),
                "Start PostgreSQL (trust auth) and install postrust (cargo install postrust-server).",
            );
            None
        }
    }
}

/// The workspace's `migrations/` directory.
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

/// The SQL files a database needs, in order: the shim, then the migrations.
pub fn migration_files() -> (PathBuf, Vec<PathBuf>) {
    let dir = migrations_dir();
    let shim = dir.join("shim/000_supabase_shim_for_plain_postgres.sql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    (shim, files)
}

fn binary_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.split('-').next().unwrap_or("test").to_owned())
        .unwrap_or_else(|| "test".into())
}

/// The PostgreSQL of the tests (`maestro_testkit::services::postgres_base`: `MAESTRO_TEST_PG`,
/// 127.0.0.1:5432, or a private cluster of this binary when none runs there).
pub fn pg_base() -> String {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        // On an error `start` reports it (the private cluster's error is kept).
        maestro_testkit::services::postgres_base()
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
    })
    .clone()
}

/// Runs `sql` in `db` with psql (`-At`, stop on error); the output.
pub fn psql(db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .arg(format!("{}/{db}", pg_base()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql])
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Applies one SQL file to `db`.
pub fn psql_file(db: &str, file: &Path) -> Result<(), String> {
    let out = Command::new("psql")
        .arg(format!("{}/{db}", pg_base()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-f"])
        .arg(file)
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Applies the shim (retried: roles are cluster-wide and other binaries may be creating them
/// at the same moment) and every migration to `db`.
pub fn apply_migrations(db: &str) -> Result<(), String> {
    let (shim, files) = migration_files();
    let mut last = Ok(());
    for _ in 0..5 {
        last = psql_file(db, &shim);
        if last.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    last?;
    for f in &files {
        psql_file(db, f)?;
    }
    Ok(())
}

/// A new empty database `maestro_supabase_test_<tag>_<pid>` (dead runs' ones dropped first).
pub fn create_database(tag: &str) -> Result<String, String> {
    let existing = psql(
        "postgres",
        "select datname from pg_database where datname like 'maestro\\_supabase\\_test\\_%'",
    )?;
    for name in existing.lines() {
        let pid: Option<u32> = name.rsplit('_').next().and_then(|p| p.parse().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = psql(
                "postgres",
                &format!("drop database if exists \"{name}\" with (force)"),
            );
        }
    }
    let db = format!("maestro_supabase_test_{tag}_{}", std::process::id());
    let _ = psql(
        "postgres",
        &format!("drop database if exists \"{db}\" with (force)"),
    );
    psql("postgres", &format!("create database \"{db}\""))?;
    Ok(db)
}

/// Drops a database this binary created.
pub fn drop_database(db: &str) {
    let _ = psql(
        "postgres",
        &format!("drop database if exists \"{db}\" with (force)"),
    );
}

fn postrust_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("POSTRUST_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("POSTRUST_BIN={} is not a file", p.display()))
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("postrust");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".cargo/bin/postrust");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err("the postrust binary is not installed \
         (cargo install postrust-server --version 3.1.0)"
        .into())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Status code of `GET path` with a bearer token, by hand (no async runtime needed).
fn http_status(port: u16, path: &str, bearer: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

/// A postrust on a free port serving database `db` of the PostgreSQL at `pg` (a
/// `postgres://…@host:port` base); killed when the returned child is killed or this process
/// exits. Returns the child and its URL once it answers.
pub fn start_postrust(pg: &str, db: &str) -> Result<(Child, String), String> {
    start_postrust_ready_at(pg, db, "/projects?select=id&limit=0")
}

/// [`start_postrust`], ready once `GET ready_path` answers 200 with the service role's token
/// (`/` for a database without the migrations).
pub fn start_postrust_ready_at(
    pg: &str,
    db: &str,
    ready_path: &str,
) -> Result<(Child, String), String> {
    let bin = postrust_bin()?;
    let port = free_port();
    let log_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let log_path = log_dir.join(format!("postrust-{db}-{port}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let db_uri = format!(
        "{}/{db}",
        pg.replacen("postgres://postgres@", "postgres://authenticator@", 1)
    );
    // `sh` runs postrust and kills it when our stdin pipe closes (this process exited).
    let child = Command::new("sh")
        .arg("-c")
        .arg("\"$POSTRUST\" & p=$!; read _ignored; kill $p 2>/dev/null; wait $p")
        .env("POSTRUST", &bin)
        .env("PGRST_DB_URI", &db_uri)
        .env("PGRST_DB_SCHEMAS", "public")
        .env("PGRST_DB_ANON_ROLE", "anon")
        .env("PGRST_JWT_SECRET", JWT_SECRET)
        .env("PGRST_SERVER_HOST", "127.0.0.1")
        .env("PGRST_SERVER_PORT", port.to_string())
        .env("PGRST_DB_POOL", "20")
        .env("PGRST_COMPAT_MODE", "true")
        .env("PGRST_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start postrust: {e}"))?;
    let service_jwt = mint(&json!({"role": "service_role", "iss": "supabase"}));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http_status(port, ready_path, &service_jwt) == Some(200) {
            return Ok((child, format!("http://127.0.0.1:{port}")));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "postrust did not become ready on port {port}; see {}",
                log_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start() -> Result<Env, String> {
    maestro_testkit::services::postgres_base()?;
    psql("postgres", "select 1")
        .map_err(|e| format!("PostgreSQL is not reachable at {} ({e})", pg_base()))?;
    let db = create_database(&binary_name())?;
    apply_migrations(&db)?;
    let (child, rest_url) = start_postrust(&pg_base(), &db)?;
    let service_jwt = mint(&json!({"role": "service_role", "iss": "supabase"}));
    let anon_jwt = mint(&json!({"role": "anon", "iss": "supabase"}));
    Ok(Env {
        pg_base: pg_base(),
        db,
        rest_url,
        service_jwt,
        anon_jwt,
        _postrust: Mutex::new(child),
    })
}

/// An HS256 JWT of `claims` (with `iat`/`exp` added) signed with [`JWT_SECRET`].
pub fn mint(claims: &Value) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = claims.clone();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 3600);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let signing_input = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(JWT_SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// A random UUID (v4 layout).
pub fn uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let r = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    let (a, b) = (r(), r());
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A signed-in user: a row in `auth.users` (which fills `profiles`) and an access token with
/// Supabase's claims.
pub struct User {
    pub id: String,
    pub email: String,
    pub jwt: String,
}

impl Env {
    pub fn service_client(&self) -> PostgrestClient {
        PostgrestClient::service(&self.rest_url, &self.service_jwt)
    }

    pub fn service_repos(&self) -> SupabaseRepos {
        SupabaseRepos::new(self.service_client())
    }

    /// A client acting for `user` (the anon key as `apikey`, the user's JWT as bearer).
    pub fn user_client(&self, user: &User) -> PostgrestClient {
        PostgrestClient::for_user(&self.rest_url, &self.anon_jwt, &user.jwt)
    }

    pub fn user_repos(&self, user: &User) -> SupabaseRepos {
        SupabaseRepos::new(self.user_client(user))
    }

    /// A client with the anon key only (not signed in).
    pub fn anon_client(&self) -> PostgrestClient {
        PostgrestClient::for_user(&self.rest_url, &self.anon_jwt, &self.anon_jwt)
    }

    /// Creates a user in `auth.users`.
    pub fn user(&self, name: &str) -> User {
        let id = uuid();
        let email = format!("{name}-{id}@example.test");
        psql(
            &self.db,
            &format!(
                "insert into auth.users (id, email, role, aud, raw_user_meta_data) values \
                 ('{id}', '{email}', 'authenticated', 'authenticated', \
                 '{{\"full_name\": \"{name}\"}}')"
            ),
        )
        .unwrap();
        let jwt = mint(&json!({
            "iss": "http://127.0.0.1/auth/v1", "aud": "authenticated", "sub": id,
            "role": "authenticated", "email": email, "aal": "aal1",
            "session_id": uuid(), "is_anonymous": false,
        }));
        User { id, email, jwt }
    }
}
