//! The real binary serves task listings from a cache; every write must be visible to the very
//! next listing (the cache is invalidated synchronously when the write's event is published).
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_reflect_each_write_immediately() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_maestro-server"))
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.path().join("data"))
        .env("LOG_LEVEL", "error")
        .env_remove("REDIS_ENABLED")
        .env_remove("SUPABASE_ENABLED")
        .env_remove("MAESTRO_API_TOKEN")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && http.get(format!("{base}/health")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = |path: &str, body: Value| {
        let req = http.post(format!("{base}{path}")).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let list = |pid: &str, extra: &str| {
        let req = http.get(format!("{base}/api/tasks?projectId={pid}{extra}"));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let pid = post("/api/projects", json!({"name": "cache"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..40 {
        assert_eq!(list(&pid, "").await.as_array().unwrap().len(), i);
        let t = post(
            "/api/tasks",
            json!({"projectId": pid, "title": format!("t{i}")}),
        )
        .await;
        let tid = t["id"].as_str().unwrap().to_string();
        let listed = list(&pid, "").await;
        assert_eq!(
            listed.as_array().unwrap().len(),
            i + 1,
            "new task listed at once"
        );
        let r = http
            .patch(format!("{base}/api/tasks/{tid}"))
            .json(&json!({"status": "in_progress"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let in_progress = list(&pid, "&status=in_progress").await;
        assert_eq!(
            in_progress.as_array().unwrap().len(),
            i + 1,
            "update listed at once"
        );
    }
    // A session link changes the task's sessionIds: visible at once too.
    let tasks = list(&pid, "").await;
    let tid = tasks[0]["id"].as_str().unwrap();
    let s = post("/api/sessions", json!({"projectId": pid, "taskIds": [tid]})).await;
    let after = list(&pid, "").await;
    assert_eq!(after[0]["sessionIds"], json!([s["id"]]));
    let _ = child.kill();
    let _ = child.wait();
}
