//! `maestro-server doctor` on the real binary against real services: a good setup (private
//! Redis, PostgreSQL with every migration behind postrust) passes every check; each broken
//! setup — Redis on a wrong port, migrations not applied (none, or not the latest), row-level
//! security off, a weak token, a wrong JWT secret, a data directory another server holds —
//! fails exactly the checks it breaks, with a fix, and exits 1.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod support;

mod local;
mod private_redis;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

const TOKEN: &str = "doctor-test-token-5c1e9a7b3d2f4086a9e1c7b5d3f2a4e6";
const SESSION_KEY: &str = "doctor-session-key-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";

/// The environment of a good setup on `redis_port` and the PostgREST at `rest_url`.
fn good_env(redis_port: u16, rest_url: &str, dir: &Path) -> BTreeMap<&'static str, String> {
    let env = support::env().expect("the test checked the services");
    BTreeMap::from([
        ("DATA_DIR", dir.join("data").display().to_string()),
        ("SESSION_DIR", dir.join("sessions").display().to_string()),
        ("MAESTRO_CLI_PATH", "/bin/sh".to_string()),
        ("MAESTRO_API_TOKEN", TOKEN.to_string()),
        ("MAESTRO_SESSION_KEY", SESSION_KEY.to_string()),
        ("REDIS_ENABLED", "true".to_string()),
        ("REDIS_URL", format!("redis://127.0.0.1:{redis_port}")),
        ("SUPABASE_ENABLED", "true".to_string()),
        ("SUPABASE_URL", "http://127.0.0.1".to_string()),
        ("SUPABASE_REST_URL", rest_url.to_string()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_jwt.clone()),
        ("SUPABASE_ANON_KEY", env.anon_jwt.clone()),
        ("SUPABASE_JWT_SECRET", support::JWT_SECRET.to_string()),
    ])
}

/// Variables of the test process that would change what the doctor sees.
const CLEARED: &[&str] = &[
    "PORT",
    "HOST",
    "SERVER_URL",
    "EXTERNAL_URL",
    "CLOUDFLARE_TUNNEL_URL",
    "CORS_ORIGINS",
    "ALLOWED_HOSTS",
    "AUTH_MODE",
    "AUTH_TRUST_LOOPBACK",
    "MAIL_BACKEND",
    "METRICS_ADDR",
    "REDIS_KEY_PREFIX",
    "RUST_LOG",
];

fn doctor(env: &BTreeMap<&'static str, String>, json: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_maestro-server"));
    c.arg("doctor");
    if json {
        c.arg("--json");
    }
    for v in CLEARED {
        c.env_remove(v);
    }
    c.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    c.output().unwrap()
}

/// The JSON report, and the names of the checks with each status.
struct Report {
    json: Value,
    exit: i32,
}

impl Report {
    fn of(env: &BTreeMap<&'static str, String>) -> Self {
        let out = doctor(env, true);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor --json printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        Self {
            json,
            exit: out.status.code().unwrap_or(-1),
        }
    }

    fn with(&self, status: &str) -> Vec<String> {
        self.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == status)
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    }

    fn check(&self, name: &str) -> &Value {
        self.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
    }

    /// Exactly `failed` fail, each with a fix, and the exit status says so.
    fn fails_exactly(&self, failed: &[&str]) {
        assert_eq!(self.with("fail"), failed, "{:#}", self.json);
        for name in failed {
            assert!(
                self.check(name)["fix"]
                    .as_str()
                    .is_some_and(|f| !f.is_empty()),
                "{name} has no fix: {:#}",
                self.json
            );
        }
        assert_eq!(self.exit, if failed.is_empty() { 0 } else { 1 });
        assert_eq!(self.json["ok"], failed.is_empty());
    }
}

/// A private Redis for one test, and its port; `None` (after a loud notice) where
/// `redis-server` is missing and `CI` is not set.
fn private_redis() -> Option<(private_redis::Killed, u16)> {
    if !private_redis::available() {
        return None;
    }
    let port = private_redis::free_port();
    let redis = private_redis::Killed(vec![private_redis::start(port)]);
    Some((redis, port))
}

/// A database `tag` with the shim and `files` applied, and a postrust serving it.
struct Database {
    name: String,
    rest_url: String,
    _postrust: private_redis::Killed,
}

impl Database {
    fn new(tag: &str, files: &[std::path::PathBuf], then: Option<&str>) -> Self {
        let env = support::env().expect("the test checked the services");
        let name = support::create_database(tag).unwrap();
        let (shim, _) = support::migration_files();
        let mut applied = Err(String::new());
        for _ in 0..5 {
            applied = support::psql_file(&name, &shim);
            if applied.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        applied.unwrap();
        for f in files {
            support::psql_file(&name, f).unwrap();
        }
        if let Some(sql) = then {
            support::psql(&name, sql).unwrap();
        }
        let (child, rest_url) = support::start_postrust_ready_at(&env.pg_base, &name, "/").unwrap();
        Self {
            name,
            rest_url,
            _postrust: private_redis::Killed(vec![child]),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        support::drop_database(&self.name);
    }
}

#[test]
fn a_good_setup_passes_and_each_broken_one_fails_exactly_its_checks() {
    let Some(env) = support::env() else {
        return;
    };
    let Some((_redis, redis_port)) = private_redis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = good_env(redis_port, &env.rest_url, dir.path());

    // Good: every check runs and passes.
    let r = Report::of(&good);
    r.fails_exactly(&[]);
    assert_eq!(r.with("warn"), Vec::<String>::new(), "{:#}", r.json);
    assert_eq!(r.with("skip"), Vec::<String>::new(), "{:#}", r.json);
    assert_eq!(r.json["checks"].as_array().unwrap().len(), 12);
    assert!(
        r.check("supabase_migrations")["detail"]
            .as_str()
            .unwrap()
            .contains("20261207000200")
    );

    // Redis on a wrong port.
    let mut broken = good.clone();
    broken.insert(
        "REDIS_URL",
        format!("redis://127.0.0.1:{}", private_redis::free_port()),
    );
    let r = Report::of(&broken);
    r.fails_exactly(&["redis"]);
    assert_eq!(r.check("redis_keyspace_events")["status"], "skip");
    // …and the table people read says the same.
    let out = doctor(&broken, false);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("1 failed"), "{table}");
    let redis_line = table.lines().find(|l| l.contains(" redis ")).unwrap();
    assert!(redis_line.trim_start().starts_with("FAIL"), "{table}");
    assert!(table.contains("fix: start Redis"), "{table}");

    // A weak token.
    let mut broken = good.clone();
    broken.insert("MAESTRO_API_TOKEN", "password123".into());
    let r = Report::of(&broken);
    r.fails_exactly(&["auth"]);
    assert!(
        r.check("auth")["fix"]
            .as_str()
            .unwrap()
            .contains("openssl rand -hex 32")
    );

    // A JWT secret of another project.
    let mut broken = good.clone();
    broken.insert(
        "SUPABASE_JWT_SECRET",
        "another-projects-jwt-secret-with-32-characters-or-more".into(),
    );
    Report::of(&broken).fails_exactly(&["supabase_jwt"]);

    // The anon key given as the service key.
    let mut broken = good.clone();
    broken.insert("SUPABASE_SERVICE_ROLE_KEY", env.anon_jwt.clone());
    let r = Report::of(&broken);
    r.fails_exactly(&["supabase_api"]);
    for later in ["supabase_anon_key", "supabase_migrations", "supabase_rls"] {
        assert_eq!(r.check(later)["status"], "skip", "{later}");
    }
}

#[test]
fn migrations_and_row_level_security_are_checked_in_the_database() {
    if support::env().is_none() {
        return;
    }
    let Some((_redis, redis_port)) = private_redis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, files) = support::migration_files();

    // No migration at all.
    let db = Database::new("doctor_none", &[], None);
    let r = Report::of(&good_env(redis_port, &db.rest_url, dir.path()));
    r.fails_exactly(&["supabase_migrations"]);
    assert_eq!(r.check("supabase_rls")["status"], "skip");
    let fix = r.check("supabase_migrations")["fix"].as_str().unwrap();
    assert!(fix.contains("20261121000100_maestro_tables.sql"), "{fix}");
    drop(db);

    // Everything but the latest: that one is named, and its table lacks RLS (it is missing).
    let db = Database::new("doctor_last", &files[..files.len() - 1], None);
    let r = Report::of(&good_env(redis_port, &db.rest_url, dir.path()));
    r.fails_exactly(&["supabase_migrations", "supabase_rls"]);
    let detail = r.check("supabase_migrations")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("20261207000200_maestro_push_subscriptions.sql"),
        "{detail}"
    );
    assert!(!detail.contains("20261207000100"), "{detail}");
    assert!(
        r.check("supabase_rls")["detail"]
            .as_str()
            .unwrap()
            .contains("push_subscriptions")
    );
    drop(db);

    // Without the schema version and what came after: the database predates it.
    let db = Database::new("doctor_old", &files[..files.len() - 2], None);
    let r = Report::of(&good_env(redis_port, &db.rest_url, dir.path()));
    r.fails_exactly(&["supabase_migrations"]);
    let check = r.check("supabase_migrations");
    assert!(
        check["detail"].as_str().unwrap().contains("predates"),
        "{check}"
    );
    let fix = check["fix"].as_str().unwrap();
    assert!(
        fix.contains("20261207000100_maestro_schema_version.sql"),
        "{fix}"
    );
    assert!(!fix.contains("20261121000100"), "{fix}");
    drop(db);

    // Every migration, then RLS switched off on one table.
    let db = Database::new(
        "doctor_rls",
        &files,
        Some("alter table public.tasks disable row level security"),
    );
    let r = Report::of(&good_env(redis_port, &db.rest_url, dir.path()));
    r.fails_exactly(&["supabase_rls"]);
    assert!(
        r.check("supabase_rls")["detail"]
            .as_str()
            .unwrap()
            .contains("tasks")
    );
}

#[test]
fn a_data_directory_in_use_by_another_server_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = local::command(private_redis::free_port(), dir.path())
        .spawn()
        .unwrap();
    let pid = server.id();
    let _guard = private_redis::Killed(vec![server]);
    let env = BTreeMap::from([
        ("DATA_DIR", data.display().to_string()),
        ("MAESTRO_CLI_PATH", "/bin/sh".to_string()),
        ("REDIS_ENABLED", "false".to_string()),
        ("SUPABASE_ENABLED", "false".to_string()),
    ]);
    // Wait for the server to hold the directory.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let r = loop {
        let r = Report::of(&env);
        if r.check("data_dir")["status"] == "fail" || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    r.fails_exactly(&["data_dir"]);
    let detail = r.check("data_dir")["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("pid {pid}")), "{detail}");
}
