//! A data directory written by the original server and CLI, with values the original never
//! validated (task `priority: urgent|critical`, `status: done`, unknown timeline types), loads
//! with every record visible — even with `CORRUPT_FILES=refuse` — is served back verbatim and
//! written back unchanged; writes still validate `status` with a message for people.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const P: &str = "proj_1771400000000_leg4cy0p1";
const URGENT: &str = "task_1771400000001_urg3nt001";
const CRITICAL_DONE: &str = "task_1771400000002_cr1t1c002";
const DONE: &str = "task_1771400000003_d0n3d0n03";
const ORDINARY: &str = "task_1771400000004_n0rm4l004";
const SESSION: &str = "sess_1771400000100_leg4cys01";

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            files_under(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(data: &Path) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_maestro-server"))
        .env("PORT", port.to_string())
        .env("DATA_DIR", data)
        .env("SESSION_DIR", data.join("../sessions"))
        .env("CORRUPT_FILES", "refuse")
        .env("LOG_LEVEL", "warn")
        .env_remove("REDIS_ENABLED")
        .env_remove("SUPABASE_ENABLED")
        .env_remove("MAESTRO_API_TOKEN")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "server did not start on the legacy data"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_values_load_serve_and_write_back_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/legacy-data-dir"),
        &data,
    );
    let s = start(&data).await;
    let url = |p: &str| format!("{}{p}", s.base);
    use reqwest::Method;

    let (status, tasks) = call(Method::GET, url(&format!("/api/tasks?projectId={P}")), None).await;
    assert_eq!(status, 200);
    let by_id = |id: &str| {
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("task {id} is missing from {tasks}"))
    };
    assert_eq!(
        tasks.as_array().unwrap().len(),
        4,
        "every legacy task is listed"
    );
    assert_eq!(by_id(URGENT)["priority"], "urgent");
    assert_eq!(by_id(CRITICAL_DONE)["priority"], "critical");
    assert_eq!(by_id(CRITICAL_DONE)["status"], "done");
    assert_eq!(by_id(DONE)["status"], "done");

    let (_, session) = call(Method::GET, url(&format!("/api/sessions/{SESSION}")), None).await;
    let kinds: Vec<&str> = session["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["session_started", "task_status_changed", "some_future_kind"]
    );

    // An unrelated write keeps the legacy values, in the response and on disk.
    let (status, renamed) = call(
        Method::PATCH,
        url(&format!("/api/tasks/{CRITICAL_DONE}")),
        Some(json!({"title": "Renamed"})),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (&renamed["status"], &renamed["priority"]),
        (&json!("done"), &json!("critical"))
    );
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join(format!("tasks/{P}/{CRITICAL_DONE}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk["status"], "done");
    assert_eq!(on_disk["priority"], "critical");
    assert_eq!(on_disk["title"], "Renamed");

    // Status stays validated on writes, with a message for people.
    let (status, e) = call(
        Method::PATCH,
        url(&format!("/api/tasks/{URGENT}")),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["code"], "VALIDATION_ERROR");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("status") && msg.contains("'done'") && msg.contains("in_progress"),
        "{msg}"
    );
    for leak in ["unknown variant", "line 1", "column", "`"] {
        assert!(!msg.contains(leak), "serde internals in {msg:?}");
    }

    // Priority is open on the wire (the CLI's `task create --priority urgent`).
    let (status, t) = call(
        Method::POST,
        url("/api/tasks"),
        Some(json!({"projectId": P, "title": "New", "priority": "urgent"})),
    )
    .await;
    assert_eq!((status, &t["priority"]), (201, &json!("urgent")));
    for bad in [json!(""), json!("   "), json!("x".repeat(65)), json!(3)] {
        let (status, e) = call(
            Method::POST,
            url("/api/tasks"),
            Some(json!({"projectId": P, "title": "New", "priority": bad})),
        )
        .await;
        assert_eq!(status, 400, "priority {bad}: {e}");
    }

    // Nothing was quarantined.
    let mut files = Vec::new();
    files_under(&data, &mut files);
    assert!(
        !files
            .iter()
            .any(|f| f.to_string_lossy().contains(".corrupt")),
        "{files:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_at_is_set_once_and_never_moves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/legacy-data-dir"),
        &data,
    );
    let s = start(&data).await;
    let patch = |body: Value| {
        call(
            reqwest::Method::PATCH,
            format!("{}/api/tasks/{ORDINARY}", s.base),
            Some(body),
        )
    };
    let (_, first) = patch(json!({"status": "completed"})).await;
    let stamp = first["completedAt"]
        .as_i64()
        .expect("completedAt set on completion");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, reopened) = patch(json!({"status": "in_progress"})).await;
    assert_eq!(
        reopened["completedAt"], stamp,
        "reopening keeps completedAt"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, again) = patch(json!({"status": "completed"})).await;
    assert_eq!(
        again["completedAt"], stamp,
        "completing again does not move it"
    );
}
