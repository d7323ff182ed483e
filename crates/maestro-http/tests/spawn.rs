//! `POST /api/sessions/spawn` (API.md §6.1) with fake `maestro` CLIs from `tests/fixtures/`:
//! success (manifest echoing the arguments), failure (exit 1 + stderr), timeout (hang + kill),
//! every validation code, and secrets kept out of stored and broadcast session data.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Adapters, Builder, Cli, SECRET_KEY, SECRET_VALUE, TestServer, id};
use serde_json::{Value, json};

fn args_of(manifest: &Value) -> Vec<String> {
    manifest["args"]
        .as_array()
        .unwrap_or_else(|| panic!("no args in {manifest}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The value following `flag` in an argument vector.
fn arg<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

async fn spawn_success(adapters: Adapters) {
    let s = Builder::new(adapters).start().await;
    let (pid, tid, _sid) = s.basics().await;
    let r = s
        .post(
            "/api/sessions/spawn",
            json!({
                "projectId": pid, "taskIds": [tid], "mode": "execute", "spawnSource": "ui",
                "sessionName": "Worker One", "skills": ["code-review", "rust"],
                "model": "sonnet", "agentTool": "codex", "strategy": "ignored"
            }),
        )
        .await
        .ok(201);
    assert_eq!(r["success"], true);
    assert_eq!(r["message"], "Spawn request sent to Agent Maestro");
    let sid = r["sessionId"].as_str().unwrap().to_string();
    let session = &r["session"];
    assert_eq!(session["id"], sid.as_str());
    assert_eq!(session["status"], "spawning");
    assert_eq!(session["name"], "Worker One");
    assert_eq!(session["taskIds"], json!([tid.clone()]));
    assert_eq!(session["metadata"]["spawnSource"], "ui");
    assert_eq!(session["metadata"]["mode"], "execute");
    assert_eq!(
        session["metadata"]["skills"],
        json!(["code-review", "rust"])
    );
    assert_eq!(session["metadata"]["spawnedBy"], Value::Null);

    // The manifest was written by the fake CLI where the response says.
    let manifest_path = r["manifestPath"].as_str().unwrap();
    assert!(
        std::path::Path::new(manifest_path).starts_with(s.session_dir.join(&sid)),
        "{manifest_path}"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest_path).unwrap()).unwrap();
    assert_eq!(manifest["generator"], "fake-maestro");
    let args = args_of(&manifest);
    assert_eq!(&args[..2], ["manifest", "generate"]);
    assert_eq!(arg(&args, "--mode"), Some("execute"));
    assert_eq!(arg(&args, "--project-id"), Some(pid.as_str()));
    assert_eq!(arg(&args, "--task-ids"), Some(tid.as_str()));
    assert_eq!(arg(&args, "--skills"), Some("code-review,rust"));
    assert_eq!(arg(&args, "--output"), Some(manifest_path));
    assert_eq!(arg(&args, "--model"), Some("sonnet"));
    assert_eq!(arg(&args, "--agent-tool"), Some("codex"));
    assert_eq!(arg(&args, "--team-member-id"), None);
    // The child got DATA_DIR, SESSION_DIR and MAESTRO_SERVER_URL explicitly (DEFECTS C11).
    assert_eq!(
        manifest["env"]["DATA_DIR"],
        s.data_dir.display().to_string()
    );
    assert_eq!(
        manifest["env"]["SESSION_DIR"],
        s.session_dir.display().to_string()
    );
    assert_eq!(manifest["env"]["MAESTRO_SERVER_URL"], s.url(""));

    // Stored env: the spawn variables, no secret (DEFECTS S3).
    let env = &session["env"];
    assert_eq!(env["MAESTRO_SESSION_ID"], sid.as_str());
    assert_eq!(env["MAESTRO_MANIFEST_PATH"], manifest_path);
    assert_eq!(env["MAESTRO_MODE"], "execute");
    assert_eq!(env["MAESTRO_SERVER_URL"], s.url(""));
    assert_eq!(env["GOOGLE_GENAI_USE_GCA"], "true");
    assert!(env.get(SECRET_KEY).is_none(), "{env}");
    let stored = s.get(&format!("/api/sessions/{sid}")).await.ok(200);
    assert_eq!(stored["env"], *env);
    assert!(!stored.to_string().contains(SECRET_VALUE));

    // Events: session:updated (env), session:spawn, task:session_added — and no secret.
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["session:updated", "session:spawn", "task:session_added"]
    );
    for (name, data) in &ev {
        assert!(
            !data.to_string().contains(SECRET_VALUE),
            "{name} carries the secret"
        );
    }
    let spawn = &ev[1].1;
    assert_eq!(spawn["command"], "maestro worker init");
    assert_eq!(spawn["cwd"], "/tmp/work");
    assert_eq!(spawn["envVars"], *env);
    assert_eq!(spawn["manifest"], manifest);
    assert_eq!(spawn["projectId"], pid.as_str());
    assert_eq!(spawn["taskIds"], json!([tid.clone()]));
    assert_eq!(spawn["spawnSource"], "ui");
    assert_eq!(spawn["parentSessionId"], Value::Null);
    assert_eq!(spawn["_isSpawnCreated"], true);
    assert_eq!(spawn["session"]["id"], sid.as_str());
    assert_eq!(spawn["session"]["status"], "spawning");
    assert_eq!(ev[0].1["env"], *env);
    assert_eq!(
        ev[2].1,
        json!({"taskId": tid, "sessionId": sid, "projectId": pid})
    );
    // The task is linked.
    let task = s.get(&format!("/api/tasks/{tid}")).await.ok(200);
    assert!(
        task["sessionIds"]
            .as_array()
            .unwrap()
            .contains(&json!(sid.clone()))
    );
}

#[tokio::test]
async fn spawn_success_memory() {
    spawn_success(Adapters::Memory).await;
}

#[tokio::test]
async fn spawn_success_fs() {
    spawn_success(Adapters::Fs).await;
}

#[tokio::test]
async fn spawn_from_a_session_with_team_members() {
    let s = TestServer::memory().await;
    let (pid, tid, parent) = s.basics().await;
    let member = s
        .post(
            "/api/team-members",
            json!({"projectId": pid, "name": "Lead", "role": "r", "avatar": "a", "mode": "coordinate", "model": "opus"}),
        )
        .await
        .ok(201);
    let mid = id(&member);
    s.take_events();
    let r = s
        .post(
            "/api/sessions/spawn",
            json!({
                "projectId": pid, "taskIds": [tid], "spawnSource": "session", "sessionId": parent,
                "teamMemberId": mid, "context": {"why": "delegation"}
            }),
        )
        .await
        .ok(201);
    let session = &r["session"];
    // Mode and model come from the member.
    assert_eq!(session["metadata"]["mode"], "coordinate");
    assert_eq!(session["metadata"]["spawnedBy"], parent.as_str());
    assert_eq!(session["metadata"]["teamMemberId"], mid.as_str());
    assert_eq!(session["metadata"]["teamMemberIds"], json!([mid.clone()]));
    assert_eq!(session["metadata"]["context"], json!({"why": "delegation"}));
    assert_eq!(session["name"], format!("Coordinate for {tid}"));
    let ev = s.take_event_data();
    let spawn = &ev.iter().find(|e| e.0 == "session:spawn").unwrap().1;
    assert_eq!(spawn["command"], "maestro orchestrator init");
    assert_eq!(spawn["spawnSource"], "session");
    assert_eq!(spawn["parentSessionId"], parent.as_str());
    let args = args_of(&spawn["manifest"]);
    assert_eq!(arg(&args, "--mode"), Some("coordinate"));
    assert_eq!(arg(&args, "--model"), Some("opus"));
    assert_eq!(arg(&args, "--team-member-id"), Some(mid.as_str()));
    assert_eq!(arg(&args, "--skills"), Some(""));
    assert_eq!(
        arg(&args, "--agent-tool"),
        None,
        "claude-code is the default"
    );
    // Mail to the member now reaches the spawned session (metadata routing, DEFECTS C1).
    let m = s
        .post(
            "/api/mail",
            json!({"projectId": pid, "fromSessionId": parent, "toTeamMemberId": mid, "type": "directive", "subject": "go"}),
        )
        .await
        .ok(201);
    assert_eq!(m["toSessionId"], r["sessionId"]);
}

#[tokio::test]
async fn spawn_validation_codes() {
    let s = TestServer::memory().await;
    let (pid, tid, parent) = s.basics().await;
    // A task whose project has disappeared (only reachable behind the service's back).
    let ghost_pid = id(&s.project("Ghost").await);
    let ghost_tid = id(&s.task(&ghost_pid, "orphan").await);
    assert!(
        s.state
            .services()
            .ports()
            .projects
            .delete(&ghost_pid)
            .await
            .unwrap()
    );
    s.take_events();
    let sessions_before = s.get("/api/sessions").await.ok(200);

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"taskIds": [tid]}), 400, "missing_project_id"),
        (
            json!({"projectId": "", "taskIds": [tid]}),
            400,
            "missing_project_id",
        ),
        (json!({"projectId": pid}), 400, "invalid_task_ids"),
        (
            json!({"projectId": pid, "taskIds": []}),
            400,
            "invalid_task_ids",
        ),
        (
            json!({"projectId": pid, "taskIds": tid}),
            400,
            "invalid_task_ids",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "spawnSource": "cli"}),
            400,
            "invalid_spawn_source",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "spawnSource": 3}),
            400,
            "invalid_spawn_source",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "spawnSource": "session"}),
            400,
            "missing_session_id",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "spawnSource": "session", "sessionId": "sess_none"}),
            404,
            "parent_session_not_found",
        ),
        // DEFECTS C13: a parent given with spawnSource ui is verified too.
        (
            json!({"projectId": pid, "taskIds": [tid], "sessionId": "sess_none"}),
            404,
            "parent_session_not_found",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "mode": "turbo"}),
            400,
            "invalid_mode",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid, "task_none"]}),
            404,
            "task_not_found",
        ),
        (
            json!({"projectId": ghost_pid, "taskIds": [ghost_tid]}),
            404,
            "project_not_found",
        ),
        // An unknown project is checked before the tasks' membership (issue 11).
        (
            json!({"projectId": "proj_other", "taskIds": [tid]}),
            404,
            "project_not_found",
        ),
        // Argument hygiene (DEFECTS S8).
        (
            json!({"projectId": pid, "taskIds": [tid], "model": "--output=/etc/x"}),
            400,
            "invalid_argument",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "skills": ["ok", "a b"]}),
            400,
            "invalid_argument",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "skills": [".."]}),
            400,
            "invalid_argument",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "agentTool": "vim"}),
            400,
            "invalid_argument",
        ),
        (
            json!({"projectId": pid, "taskIds": [tid], "teamMemberIds": ["../x"]}),
            400,
            "invalid_argument",
        ),
    ];
    for (body, status, code) in cases {
        let e = s
            .post("/api/sessions/spawn", body.clone())
            .await
            .err(status, code);
        if code == "task_not_found" {
            assert_eq!(e["details"], json!({"taskId": "task_none"}), "{body}");
        }
    }
    // Nothing was created, linked, emitted or written.
    assert_eq!(s.get("/api/sessions").await.ok(200), sessions_before);
    assert_eq!(
        s.get(&format!("/api/tasks/{tid}")).await.ok(200)["sessionIds"],
        json!([parent])
    );
    assert!(s.take_events().is_empty());
    assert!(s.session_dir_entries().is_empty());
}

async fn assert_failed_spawn_left_nothing(s: &TestServer, tid: &str, before: &Value) {
    assert_eq!(&s.get("/api/sessions").await.ok(200), before);
    assert_eq!(
        s.get(&format!("/api/tasks/{tid}")).await.ok(200)["sessionIds"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(s.take_events().is_empty(), "a failed spawn emits nothing");
    assert_eq!(
        s.session_dir_entries(),
        Vec::<String>::new(),
        "manifest dir removed"
    );
}

#[tokio::test]
async fn spawn_cli_failure_is_500_and_leaves_nothing() {
    let s = Builder::new(Adapters::Fs)
        .cli(Cli::Fail, Duration::from_secs(10))
        .start()
        .await;
    let (pid, tid, _) = s.basics().await;
    let before = s.get("/api/sessions").await.ok(200);
    let e = s
        .post(
            "/api/sessions/spawn",
            json!({"projectId": pid, "taskIds": [tid]}),
        )
        .await
        .err(500, "manifest_generation_failed");
    assert!(
        e["message"].as_str().unwrap().contains("boom"),
        "stderr in the message: {e}"
    );
    assert_failed_spawn_left_nothing(&s, &tid, &before).await;
    // The server is fine afterwards.
    s.get("/health").await.ok(200);
}

#[tokio::test]
async fn spawn_cli_timeout_is_killed_500_and_leaves_nothing() {
    let s = Builder::new(Adapters::Memory)
        .cli(Cli::Hang, Duration::from_secs(1))
        .start()
        .await;
    let (pid, tid, _) = s.basics().await;
    let before = s.get("/api/sessions").await.ok(200);
    let t0 = Instant::now();
    let e = s
        .post(
            "/api/sessions/spawn",
            json!({"projectId": pid, "taskIds": [tid]}),
        )
        .await
        .err(500, "manifest_generation_failed");
    // Not before the 1 s timeout; and killed by it (the message says so), not ended otherwise.
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert!(e["message"].as_str().unwrap().contains("timed out"), "{e}");
    assert_failed_spawn_left_nothing(&s, &tid, &before).await;
}

#[tokio::test]
async fn spawn_cli_missing_is_500_with_a_hint() {
    let s = Builder::new(Adapters::Memory)
        .cli(Cli::Missing, Duration::from_secs(5))
        .start()
        .await;
    let (pid, tid, _) = s.basics().await;
    let before = s.get("/api/sessions").await.ok(200);
    let e = s
        .post(
            "/api/sessions/spawn",
            json!({"projectId": pid, "taskIds": [tid]}),
        )
        .await
        .err(500, "manifest_generation_failed");
    assert!(
        e["message"].as_str().unwrap().contains("MAESTRO_CLI_PATH"),
        "{e}"
    );
    assert_failed_spawn_left_nothing(&s, &tid, &before).await;
}

/// Only a trusted local real-time connection gets the provider secrets, in `session:spawn`
/// `envVars`; `session:updated` never carries them (DEFECTS S3).
#[tokio::test]
async fn spawn_secrets_only_reach_local_ws_spawn_frames() {
    let s = TestServer::memory().await;
    let (pid, tid, _) = s.basics().await;
    let mut ws = s.ws("/").await;
    let r = s
        .post(
            "/api/sessions/spawn",
            json!({"projectId": pid, "taskIds": [tid]}),
        )
        .await
        .ok(201);
    assert!(!r.to_string().contains(SECRET_VALUE));
    let (before, spawn) = ws.until_event("session:spawn").await;
    let updated = before
        .iter()
        .find(|f| f["event"] == "session:updated")
        .expect("session:updated before session:spawn");
    assert!(!updated.to_string().contains(SECRET_VALUE));
    assert_eq!(spawn["data"]["envVars"][SECRET_KEY], SECRET_VALUE);
    assert!(spawn["data"]["session"]["env"].get(SECRET_KEY).is_none());
    let (_, added) = ws.until_event("task:session_added").await;
    assert_eq!(added["data"]["sessionId"], r["sessionId"]);
}
