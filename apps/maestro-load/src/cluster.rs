//! `maestro-load cluster`: N `maestro-server` instances sharing one private Redis and one
//! PostgreSQL database behind PostgREST (the stand-in `postrust`), as several instances run
//! behind a load balancer — then one scenario against all of them, and everything stopped.
//!
//! It creates a fresh database (`maestro_load_<pid>`) on `--pg`, applies `migrations/shim/`
//! then `migrations/*.sql`, starts `redis-server` on a free port (no persistence) and
//! postrust, mints the service-role and anon JWTs with a random secret, starts the instances
//! with the same `MAESTRO_API_TOKEN` and `MAESTRO_SESSION_KEY`, and runs
//! `maestro-load <scenario> --url <each instance> --token <token> <args>`.
//!
//! ```text
//! maestro-load cluster --instances 2 --server-bin PATH [--pg postgres://postgres@127.0.0.1:5432]
//!     [--postrust-bin PATH] [--migrations DIR] -- <scenario> [scenario args…]
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::common::{Args, Error};

/// Processes started here, killed (and reaped) when dropped; the database dropped last.
struct Cluster {
    children: Vec<Child>,
    pg: String,
    db: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = psql(
            &self.pg,
            "postgres",
            &format!("drop database if exists \"{}\" with (force)", self.db),
        );
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn psql(pg: &str, db: &str, sql: &str) -> Result<(), Error> {
    let out = Command::new("psql")
        .arg(format!("{pg}/{db}"))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-At", "-c", sql])
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("psql: {}", String::from_utf8_lossy(&out.stderr).trim()).into())
    }
}

fn psql_file(pg: &str, db: &str, file: &Path) -> Result<(), Error> {
    let out = Command::new("psql")
        .arg(format!("{pg}/{db}"))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-f"])
        .arg(file)
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into())
    }
}

/// The shim (plain PostgreSQL stands in for Supabase's roles and `auth` schema), then every
/// migration in name order.
fn migrate(pg: &str, db: &str, dir: &Path) -> Result<(), Error> {
    // The shim creates cluster-wide roles: two clusters starting at once on one PostgreSQL
    // can collide ("tuple concurrently updated"), so it is retried.
    let shim = dir.join("shim/000_supabase_shim_for_plain_postgres.sql");
    let mut applied = psql_file(pg, db, &shim);
    for attempt in 1..5 {
        if applied.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200 * attempt));
        applied = psql_file(pg, db, &shim);
    }
    applied?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    for f in &files {
        psql_file(pg, db, f)?;
    }
    Ok(())
}

fn random_hex() -> Result<String, Error> {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid")?;
    let a = String::from_utf8_lossy(&bytes).replace(['-', '\n'], "");
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid")?;
    let b = String::from_utf8_lossy(&bytes).replace(['-', '\n'], "");
    Ok(format!("{a}{b}"))
}

/// An HS256 JWT with `role` (an hour long), as Supabase's API keys are.
fn mint(secret: &str, role: &str) -> Result<String, Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = json!({"role": role, "iss": "supabase", "iat": now, "exp": now + 3600});
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?);
    let input = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(input.as_bytes());
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    ))
}

/// Waits until `GET url` (with `bearer`, if any) answers 200.
async fn wait_http(url: &str, bearer: Option<&str>, what: &str) -> Result<(), Error> {
    let http = reqwest::Client::new();
    let ready = || async {
        let mut req = http.get(url);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        req.send().await.is_ok_and(|r| r.status().is_success())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready().await {
        if Instant::now() > deadline {
            return Err(format!("{what} did not come up ({url})").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn postrust_bin(a: &Args) -> PathBuf {
    if let Some(p) = a.get("--postrust-bin") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let cargo = home.join(".cargo/bin/postrust");
    if cargo.is_file() {
        cargo
    } else {
        PathBuf::from("postrust")
    }
}

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let mut args = args.peekable();
    let own: Vec<String> = args.by_ref().take_while(|a| a != "--").collect();
    let rest: Vec<String> = args.collect();
    let a = Args::parse(
        own.into_iter(),
        &["--instances", "--pg", "--postrust-bin", "--migrations"],
        &[],
    )?;
    let instances: usize = a.num("--instances", 2, 1)?;
    let bin = a
        .get("--server-bin")
        .ok_or("cluster needs --server-bin PATH")?
        .to_string();
    let pg = a
        .get("--pg")
        .unwrap_or("postgres://postgres@127.0.0.1:5432")
        .trim_end_matches('/')
        .to_string();
    let migrations = PathBuf::from(a.get("--migrations").unwrap_or("migrations"));
    let Some((scenario, scenario_args)) = rest.split_first() else {
        return Err("cluster needs `-- <scenario> [args]`".into());
    };

    let db = format!("maestro_load_{}", std::process::id());
    psql(
        &pg,
        "postgres",
        &format!("drop database if exists \"{db}\" with (force)"),
    )?;
    psql(&pg, "postgres", &format!("create database \"{db}\""))?;
    let mut cluster = Cluster {
        children: Vec::new(),
        pg: pg.clone(),
        db: db.clone(),
    };
    migrate(&pg, &db, &migrations)?;

    let redis_port = free_port()?;
    cluster.children.push(
        Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()?,
    );
    let secret = random_hex()?;
    let (service, anon) = (mint(&secret, "service_role")?, mint(&secret, "anon")?);
    let rest_port = free_port()?;
    let db_uri = format!(
        "{}/{db}",
        pg.replacen("postgres://postgres@", "postgres://authenticator@", 1)
    );
    cluster.children.push(
        Command::new(postrust_bin(&a))
            .env("PGRST_DB_URI", &db_uri)
            .env("PGRST_DB_SCHEMAS", "public")
            .env("PGRST_DB_ANON_ROLE", "anon")
            .env("PGRST_JWT_SECRET", &secret)
            .env("PGRST_SERVER_HOST", "127.0.0.1")
            .env("PGRST_SERVER_PORT", rest_port.to_string())
            .env("PGRST_DB_POOL", "20")
            .env("PGRST_COMPAT_MODE", "true")
            .env("PGRST_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start postrust: {e}"))?,
    );
    let rest_url = format!("http://127.0.0.1:{rest_port}");
    // Ready once it has loaded the schema (a table query answers 200).
    wait_http(
        &format!("{rest_url}/projects?select=id&limit=0"),
        Some(&service),
        "postrust",
    )
    .await?;

    let token = random_hex()?;
    let session_key = random_hex()?;
    let dir = std::env::temp_dir().join(format!("maestro-load-cluster-{}", std::process::id()));
    let mut urls = Vec::new();
    for i in 0..instances {
        let port = free_port()?;
        cluster.children.push(
            Command::new(&bin)
                .env("PORT", port.to_string())
                .env("DATA_DIR", dir.join(format!("data-{i}")))
                .env("SESSION_DIR", dir.join(format!("sessions-{i}")))
                .env("SUPABASE_ENABLED", "true")
                .env("SUPABASE_URL", "http://127.0.0.1")
                .env("SUPABASE_REST_URL", &rest_url)
                .env("SUPABASE_SERVICE_ROLE_KEY", &service)
                .env("SUPABASE_ANON_KEY", &anon)
                .env("SUPABASE_JWT_SECRET", &secret)
                .env("REDIS_ENABLED", "true")
                .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
                .env("MAESTRO_API_TOKEN", &token)
                .env("MAESTRO_SESSION_KEY", &session_key)
                .env("LOG_LEVEL", "warn")
                .env_remove("AUTH_MODE")
                .env_remove("MAIL_BACKEND")
                .stdout(Stdio::null())
                .spawn()?,
        );
        let url = format!("http://127.0.0.1:{port}");
        wait_http(&format!("{url}/health"), None, "an instance").await?;
        urls.push(url);
    }
    let mut forwarded: Vec<String> = scenario_args.to_vec();
    for u in &urls {
        forwarded.extend(["--url".to_string(), u.clone()]);
    }
    forwarded.extend(["--token".to_string(), token]);
    let outcome = crate::run_scenario(scenario, forwarded.into_iter()).await;
    drop(cluster);
    let _ = std::fs::remove_dir_all(dir);
    outcome
}
