//! Security settings of the real binary: weak tokens and `CORS_ORIGINS=*` without auth stop
//! start-up with a clear message; the manifest CLI child never sees the server's secrets; the
//! web app and the public client configuration are served at `/` with a strict CSP.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "8d2f6a0c4e9b1d7f3a5c8e0b2d4f6a9c";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn base_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maestro-server"));
    cmd.env("DATA_DIR", dir.join("data"))
        .env("SESSION_DIR", dir.join("sessions"))
        .env("SKILLS_DIR", dir.join("skills"))
        .env("LOG_LEVEL", "warn")
        .env_remove("REDIS_ENABLED")
        .env_remove("SUPABASE_ENABLED")
        .env_remove("MAESTRO_API_TOKEN")
        .env_remove("AUTH_MODE")
        .env_remove("AUTH_TRUST_LOOPBACK")
        .env_remove("CORS_ORIGINS")
        .env_remove("EXTERNAL_URL")
        .env_remove("CLOUDFLARE_TUNNEL_URL");
    cmd
}

/// Runs the binary with `env` and expects it to refuse to start, naming `var`.
fn refuses(env: &[(&str, &str)], var: &str, hint: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = base_command(dir.path());
    cmd.env("PORT", free_port().to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{env:?} must not start: {stderr}"
    );
    assert!(stderr.contains(var), "{env:?}: {stderr}");
    assert!(stderr.contains(hint), "{env:?}: {stderr}");
}

#[test]
fn weak_tokens_stop_start_up_with_a_recipe() {
    for weak in [
        " ".repeat(16),
        "a".repeat(16),
        "a".repeat(64),
        "short-but-random-9f2c".to_string(),
        "ab".repeat(20),
    ] {
        refuses(
            &[("MAESTRO_API_TOKEN", &weak)],
            "MAESTRO_API_TOKEN",
            "openssl rand -hex 32",
        );
    }
}

#[test]
fn any_origin_without_auth_stops_start_up() {
    refuses(
        &[("CORS_ORIGINS", "*")],
        "CORS_ORIGINS",
        "MAESTRO_API_TOKEN",
    );
}

#[test]
fn auth_mode_conflicts_stop_start_up() {
    refuses(&[("AUTH_MODE", "token")], "AUTH_MODE", "MAESTRO_API_TOKEN");
    refuses(
        &[("AUTH_MODE", "supabase")],
        "AUTH_MODE",
        "SUPABASE_ENABLED",
    );
    refuses(
        &[("AUTH_MODE", "none"), ("MAESTRO_API_TOKEN", TOKEN)],
        "AUTH_MODE",
        "remove one",
    );
    refuses(
        &[
            ("MAESTRO_API_TOKEN", TOKEN),
            ("AUTH_TRUST_LOOPBACK", "true"),
        ],
        "AUTH_TRUST_LOOPBACK",
        "AUTH_MODE=supabase",
    );
}

/// With `EXTERNAL_URL` the server says which URL to open on the phone (no QR code when
/// standard error is not a terminal, as here).
#[test]
fn the_phone_url_is_printed_at_start_up() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = base_command(dir.path())
        .env("PORT", free_port().to_string())
        .env("MAESTRO_API_TOKEN", TOKEN)
        .env("EXTERNAL_URL", "https://maestro.example.com")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line)
                if line.contains("Open Maestro on your phone: https://maestro.example.com") =>
            {
                break true;
            }
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    // The rest of the banner, if any, follows at once.
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no phone URL in: {seen:?}");
    assert!(
        !seen.iter().any(|l| l.contains('\u{2588}')),
        "a QR code on a non-terminal: {seen:?}"
    );
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
    session_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let fake_cli = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/maestro-http/tests/fixtures/fake-maestro.sh");
    let mut cmd = base_command(dir.path());
    cmd.env("PORT", port.to_string())
        .env("MAESTRO_CLI_PATH", &fake_cli);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        session_dir: dir.path().join("sessions"),
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_child_gets_an_allow_listed_environment() {
    let s = start(&[
        ("MAESTRO_API_TOKEN", TOKEN),
        ("ANTHROPIC_API_KEY", "sk-ant-must-not-leak"),
    ])
    .await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let req = http
            .post(format!("{}{path}", s.base))
            .bearer_auth(TOKEN)
            .json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let p = post(
        "/api/projects",
        json!({"name": "env", "workingDir": "/tmp"}),
    )
    .await;
    let t = post("/api/tasks", json!({"projectId": p["id"], "title": "t"})).await;
    let spawned = post(
        "/api/sessions/spawn",
        json!({"projectId": p["id"], "taskIds": [t["id"]], "spawnSource": "ui"}),
    )
    .await;
    let sid = spawned["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{spawned}"));
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(s.session_dir.join(sid).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let env = &manifest["env"];
    assert_eq!(env["MAESTRO_API_TOKEN"], "", "the API token leaked: {env}");
    assert_eq!(env["ANTHROPIC_API_KEY"], "", "a provider key leaked: {env}");
    assert!(env["PATH"].as_str().is_some_and(|p| !p.is_empty()), "{env}");
    assert_eq!(
        env["MAESTRO_SERVER_URL"],
        "http://localhost:".to_string() + s.base.rsplit(':').next().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_and_its_configuration_are_public_the_api_is_not() {
    let s = start(&[("MAESTRO_API_TOKEN", TOKEN)]).await;
    let http = reqwest::Client::new();
    let cfg: Value = http
        .get(format!("{}/api/auth/config", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["authMode"], "token");
    assert_eq!(cfg["supabase"], Value::Null);
    for path in ["/", "/projects/p1", "/projects/p1/sessions/s1"] {
        let r = http.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    // Unknown API paths are still the JSON 404 (after authentication)…
    let r = http
        .get(format!("{}/api/nope", s.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "NOT_FOUND");
    // …and the API itself needs the token.
    let r = http
        .get(format!("{}/api/projects", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
