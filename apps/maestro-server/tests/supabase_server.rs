//! The server on Supabase (issue 7): the real `maestro-server` binary with
//! `SUPABASE_ENABLED=true` against PostgreSQL (migrations + shim applied) behind postrust, the
//! PostgREST stand-in. `/health` reports PostgREST reachability; REST writes land in the
//! database; `migrate to-supabase` copies the fixture data directory idempotently.
//! Fails when `CI` is set and PostgreSQL or postrust is missing; skips loudly otherwise.
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod support;

#[path = "../../../crates/maestro-http/tests/matrix/mod.rs"]
mod matrix;

#[path = "../../../crates/maestro-http/tests/fleet/mod.rs"]
mod fleet;

mod http_target;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(env: &support::Env, rest_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maestro-server"));
    cmd.env("SUPABASE_ENABLED", "true")
        .env("SUPABASE_URL", "http://127.0.0.1")
        .env("SUPABASE_REST_URL", rest_url)
        .env("SUPABASE_SERVICE_ROLE_KEY", &env.service_jwt)
        .env("SUPABASE_ANON_KEY", &env.anon_jwt)
        .env("LOG_LEVEL", "error")
        .env_remove("REDIS_ENABLED")
        .env_remove("MAIL_BACKEND")
        .env_remove("MAESTRO_API_TOKEN")
        .env_remove("AUTH_MODE")
        .env_remove("AUTH_TRUST_LOOPBACK");
    cmd
}

/// The server as a desktop app that cannot sign in yet runs it (`AUTH_TRUST_LOOPBACK=true`),
/// so these tests may call it from loopback without a token.
async fn start(env: &support::Env, rest_url: &str) -> Server {
    start_with(env, rest_url, &[("AUTH_TRUST_LOOPBACK", "true")]).await
}

async fn start_with(env: &support::Env, rest_url: &str, vars: &[(&str, &str)]) -> Server {
    let mut cmd = command(env, rest_url);
    cmd.envs(vars.iter().copied());
    launch(cmd, tempfile::tempdir().unwrap()).await
}

/// Starts `cmd` on a free port with its data in `dir`, and waits until `/health` answers.
async fn launch(mut cmd: Command, dir: tempfile::TempDir) -> Server {
    let port = free_port();
    let child = cmd
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.path().join("data"))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && reqwest::get(format!("{base}/health")).await.is_err() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server {
        child,
        base,
        _dir: dir,
    }
}

async fn health(base: &str) -> Value {
    reqwest::get(format!("{base}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_on_supabase_reports_postgrest_and_persists_through_it() {
    let Some(env) = support::env() else {
        return;
    };
    let server = start(env, &env.rest_url).await;
    let h = health(&server.base).await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["supabase"]["ok"], true, "{h}");

    let http = reqwest::Client::new();
    let project: Value = http
        .post(format!("{}/api/projects", server.base))
        .json(&json!({"name": "on supabase", "workingDir": "/tmp"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = project["id"].as_str().unwrap();
    let task = http
        .post(format!("{}/api/tasks", server.base))
        .json(&json!({"projectId": pid, "title": "persisted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(task.status(), 201);
    let rows = support::psql(
        &env.db,
        &format!("select count(*) from public.tasks where project_id = '{pid}'"),
    )
    .unwrap();
    assert_eq!(rows.trim(), "1", "the task is a row in PostgreSQL");
    let listed: Value = http
        .get(format!("{}/api/tasks?projectId={pid}", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["title"], "persisted");
}

/// `AUTH_MODE=supabase` (the default with `SUPABASE_ENABLED=true`): loopback is no proof of a
/// user, so the API needs an access token there too; only public routes answer without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supabase_mode_needs_a_token_on_loopback_too() {
    let Some(env) = support::env() else {
        return;
    };
    let server = start_with(env, &env.rest_url, &[]).await;
    let get = |path: &str| reqwest::get(format!("{}{path}", server.base));
    let r = get("/api/projects").await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED", "{body}");
    assert_eq!(get("/health").await.unwrap().status(), 200);
    let config: Value = get("/api/auth/config").await.unwrap().json().await.unwrap();
    assert_eq!(config["authMode"], "supabase", "{config}");
    let r = reqwest::Client::new()
        .get(format!("{}/api/projects", server.base))
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_degraded_when_postgrest_is_unreachable() {
    let Some(env) = support::env() else {
        return;
    };
    let dead = format!("http://127.0.0.1:{}", free_port());
    let server = start(env, &dead).await;
    let h = health(&server.base).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["supabase"]["ok"], false, "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_to_supabase_copies_the_fixture_once() {
    let Some(env) = support::env() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/data-dir"),
        &data,
    );
    let run = |extra: &[&str]| {
        let out = command(env, &env.rest_url)
            .env_remove("SUPABASE_ENABLED")
            .args(["migrate", "to-supabase", "--data-dir"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "migrate failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\r') && !stderr.contains("[#"),
            "no progress bar when stderr is not a terminal: {stderr}"
        );
        stdout
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.contains("dry run"), "{dry}");
    let first = run(&[]);
    let second = run(&[]);
    let counts = |report: &str, entity: &str| -> Vec<u64> {
        report
            .lines()
            .find(|l| l.split_whitespace().next() == Some(entity))
            .unwrap_or_else(|| panic!("no {entity} line in {report}"))
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect()
    };
    for entity in ["projects", "tasks", "sessions"] {
        let [total, created, _, _] = counts(&first, entity)[..] else {
            panic!("bad report {first}")
        };
        assert!(total > 0 && created == total, "{entity}: {first}");
        let [total2, created2, updated2, unchanged2] = counts(&second, entity)[..] else {
            panic!("bad report {second}")
        };
        assert_eq!(
            (total2, created2, updated2, unchanged2),
            (total, 0, 0, total),
            "{second}"
        );
    }
}

const API_TOKEN: &str = "srv-api-9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c";

/// Two signed-in users through the real server: each sees only their own projects (row-level
/// security through their own tokens, and the domain's roles), over REST; sharing by email as
/// viewer, promotion to editor and removal change what the other may do; the raw WebSocket
/// refuses them; the server's API token still sees everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_users_see_only_their_projects() {
    let Some(env) = support::env() else {
        return;
    };
    let mut cmd = command(env, &env.rest_url);
    cmd.env("MAESTRO_API_TOKEN", API_TOKEN)
        .env("SUPABASE_JWT_SECRET", support::JWT_SECRET);
    let server = launch(cmd, tempfile::tempdir().unwrap()).await;
    let (alice, bob) = (env.user("alice"), env.user("bob"));
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method;
    // No token at all: refused.
    assert_eq!(
        reqwest::get(format!("{}/api/projects", server.base))
            .await
            .unwrap()
            .status(),
        401
    );

    let (st, project) = call(
        Method::POST,
        "/api/projects",
        &alice.jwt,
        Some(json!({"name": "Alice's"})),
    )
    .await;
    assert_eq!(st, 201, "{project}");
    let pid = project["id"].as_str().unwrap().to_string();
    let (st, task) = call(
        Method::POST,
        "/api/tasks",
        &alice.jwt,
        Some(json!({"projectId": pid, "title": "secret"})),
    )
    .await;
    assert_eq!(st, 201, "{task}");
    let tid = task["id"].as_str().unwrap().to_string();

    // Alice sees hers; Bob sees nothing of it, by list or by id, and cannot write into it.
    let (_, mine) = call(Method::GET, "/api/projects", &alice.jwt, None).await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == pid.as_str())
    );
    let (_, theirs) = call(Method::GET, "/api/projects", &bob.jwt, None).await;
    assert!(
        !theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == pid.as_str()),
        "{theirs}"
    );
    assert_eq!(
        call(Method::GET, &format!("/api/projects/{pid}"), &bob.jwt, None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(Method::GET, &format!("/api/tasks/{tid}"), &bob.jwt, None)
            .await
            .0,
        404
    );
    let (_, tasks) = call(
        Method::GET,
        &format!("/api/tasks?projectId={pid}"),
        &bob.jwt,
        None,
    )
    .await;
    assert_eq!(tasks, json!([]));
    let (st, _) = call(
        Method::POST,
        "/api/tasks",
        &bob.jwt,
        Some(json!({"projectId": pid, "title": "intruder"})),
    )
    .await;
    assert_eq!(st, 404, "Bob cannot add a task to Alice's project");
    let (st, _) = call(
        Method::PATCH,
        &format!("/api/tasks/{tid}"),
        &bob.jwt,
        Some(json!({"title": "pwned"})),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = call(
        Method::DELETE,
        &format!("/api/projects/{pid}"),
        &bob.jwt,
        None,
    )
    .await;
    assert_eq!(st, 404);

    // Sharing: Alice adds Bob by email as a viewer; he reads but cannot write.
    let members = format!("/api/projects/{pid}/members");
    let (st, _) = call(
        Method::POST,
        &members,
        &bob.jwt,
        Some(json!({"email": alice.email, "role": "owner"})),
    )
    .await;
    assert_eq!(
        st, 404,
        "Bob cannot even see the member list of Alice's project"
    );
    let (st, added) = call(
        Method::POST,
        &members,
        &alice.jwt,
        Some(json!({"email": bob.email, "role": "viewer"})),
    )
    .await;
    assert_eq!(st, 201, "{added}");
    assert_eq!(added["userId"], bob.id.as_str());
    assert_eq!(added["role"], "viewer");
    let (st, unknown) = call(
        Method::POST,
        &members,
        &alice.jwt,
        Some(json!({"email": "nobody@example.test", "role": "viewer"})),
    )
    .await;
    assert_eq!(st, 404, "{unknown}");
    let (st, list) = call(Method::GET, &members, &bob.jwt, None).await;
    assert_eq!(st, 200, "{list}");
    let roles: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["userId"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        roles.contains(&(alice.id.clone(), "owner".into())),
        "{list}"
    );
    assert!(roles.contains(&(bob.id.clone(), "viewer".into())), "{list}");
    assert_eq!(
        call(Method::GET, &format!("/api/tasks/{tid}"), &bob.jwt, None)
            .await
            .0,
        200
    );
    let new_task = json!({"projectId": pid, "title": "by bob"});
    let (st, refused) = call(Method::POST, "/api/tasks", &bob.jwt, Some(new_task.clone())).await;
    assert_eq!(st, 403, "{refused}");
    let (st, _) = call(
        Method::PATCH,
        &format!("{members}/{}", alice.id),
        &bob.jwt,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(st, 403, "a viewer cannot change roles");
    // Promoted to editor, he writes.
    let (st, promoted) = call(
        Method::PATCH,
        &format!("{members}/{}", bob.id),
        &alice.jwt,
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(st, 200, "{promoted}");
    let (st, created) = call(Method::POST, "/api/tasks", &bob.jwt, Some(new_task.clone())).await;
    assert_eq!(st, 201, "{created}");
    let (st, _) = call(
        Method::DELETE,
        &format!("/api/projects/{pid}"),
        &bob.jwt,
        None,
    )
    .await;
    assert_eq!(st, 403, "only owners delete a project");
    // The last owner stays.
    let (st, last) = call(
        Method::DELETE,
        &format!("{members}/{}", alice.id),
        &alice.jwt,
        None,
    )
    .await;
    assert_eq!(st, 409, "{last}");
    // Removed, he loses access again.
    let (st, _) = call(
        Method::DELETE,
        &format!("{members}/{}", bob.id),
        &alice.jwt,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        call(Method::GET, &format!("/api/tasks/{tid}"), &bob.jwt, None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(Method::POST, "/api/tasks", &bob.jwt, Some(new_task))
            .await
            .0,
        404
    );

    // The server's own token sees everything.
    let (_, all) = call(Method::GET, "/api/projects", API_TOKEN, None).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == pid.as_str())
    );

    // The raw WebSocket (every project's events) is not for signed-in users.
    let (st, _) = {
        let r = http
            .get(format!("{}/?token={}", server.base, bob.jwt))
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(st, 403);

    // Project API keys, stored in `api_keys` through PostgREST: only an owner creates one;
    // the key acts on its project only, and stops at once when revoked.
    let keys = format!("/api/projects/{pid}/api-keys");
    let (st, _) = call(Method::POST, &keys, &bob.jwt, Some(json!({"name": "b"}))).await;
    assert_eq!(st, 404, "bob is no longer on the project");
    let (st, created) = call(Method::POST, &keys, &alice.jwt, Some(json!({"name": "ci"}))).await;
    assert_eq!(st, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_string();
    assert_eq!(created["createdBy"], alice.id.as_str());
    let (st, listed) = call(Method::GET, &keys, &alice.jwt, None).await;
    assert_eq!(st, 200, "{listed}");
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&key));
    let (st, task) = call(
        Method::POST,
        "/api/tasks",
        &key,
        Some(json!({"projectId": pid, "title": "by the key"})),
    )
    .await;
    assert_eq!(st, 201, "{task}");
    let (st, _) = call(Method::GET, &keys, &key, None).await;
    assert_eq!(st, 403, "a key manages no keys");
    let (st, _) = call(Method::GET, "/api/projects", &key, None).await;
    assert_eq!(st, 200);
    let key_id = created["id"].as_str().unwrap();
    let (st, _) = call(
        Method::DELETE,
        &format!("{keys}/{key_id}"),
        &alice.jwt,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call(Method::GET, &format!("/api/projects/{pid}"), &key, None).await;
    assert_eq!(st, 401, "revoked");
    let _ = Path::new(".");
}

/// The access matrix's target: the real binary on PostgreSQL + postrust, with six users as
/// rows of `auth.users` and their JWTs, the server's session-token key known to the test.
struct SupabaseTarget {
    server: Server,
    http: http_target::HttpTarget,
    _skills: tempfile::TempDir,
}

const SESSION_KEY: &str = "matrix-session-key-6f1d0c9e8b7a4f3e2d1c0b9a";

impl std::ops::Deref for SupabaseTarget {
    type Target = http_target::HttpTarget;
    fn deref(&self) -> &http_target::HttpTarget {
        &self.http
    }
}

/// The real binary on Supabase with six fresh users, for the access matrix and the fleet.
async fn supabase_target() -> Option<SupabaseTarget> {
    let env = support::env()?;
    let dir = tempfile::tempdir().unwrap();
    let skills = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(skills.path().join("sk")).unwrap();
    std::fs::write(
        skills.path().join("sk/SKILL.md"),
        "---\nname: Sk\n---\nbody\n",
    )
    .unwrap();
    let fake_cli = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/maestro-http/tests/fixtures/fake-maestro.sh");
    let mut cmd = command(env, &env.rest_url);
    cmd.env("SESSION_DIR", dir.path().join("sessions"))
        .env("SKILLS_DIR", skills.path())
        .env("MAESTRO_CLI_PATH", fake_cli)
        .env("MAESTRO_API_TOKEN", API_TOKEN)
        .env("MAESTRO_SESSION_KEY", SESSION_KEY)
        .env("SUPABASE_JWT_SECRET", support::JWT_SECRET);
    let server = launch(cmd, dir).await;
    Some(SupabaseTarget {
        http: http_target::HttpTarget::new(env, vec![server.base.clone()], API_TOKEN, SESSION_KEY),
        server,
        _skills: skills,
    })
}

/// Every route × every kind of caller (the same table as the in-memory and FileSystem runs),
/// on Supabase: roles from `project_members`, data through users' own tokens under RLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_by_every_caller_on_supabase() {
    let Some(target) = supabase_target().await else {
        return;
    };
    matrix::run_matrix(&*target).await;
}

/// The fleet simulation on Supabase: owners, an editor, a viewer, strangers, API keys and
/// session tokens of two projects, live and ended, all at once; every outcome as the access
/// table says, every acknowledged write stored once with its author, no refused one stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_caller_at_once_on_supabase() {
    let Some(target) = supabase_target().await else {
        return;
    };
    let fleet = fleet::setup(&*target).await;
    fleet::run(&*target, &fleet, fleet::seed(), 24).await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
