//! Graceful drain: the real binary gets SIGTERM while mail long-polls are pending; each is
//! answered `200 []` (not cut), a `/mobile` client's connection is closed so it reconnects
//! elsewhere, and the process exits 0 within `SHUTDOWN_TIMEOUT_SECS`.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod local;
mod private_redis;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_pending_long_polls_with_empty_lists_then_exits_0() {
    let port = private_redis::free_port();
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = private_redis::free_port();
    let mut server = local::command(port, dir.path())
        .env("SHUTDOWN_TIMEOUT_SECS", "20")
        .env("SHUTDOWN_GRACE_SECS", "5")
        .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    local::wait_up(&http, &base).await;
    let post = |path: &str, body: Value| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move {
            let v: Value = http
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let p = post(
        "/api/projects",
        json!({"name": "drain", "workingDir": "/tmp"}),
    )
    .await;
    let pid = p["id"].as_str().unwrap().to_string();
    let client = maestro_client::Client::builder(&base).build().unwrap();
    let mut phone = client.subscribe(&pid).await.unwrap();
    let mut waits = Vec::new();
    for i in 0..3 {
        let s = post(
            "/api/sessions",
            json!({"projectId": pid, "taskIds": [], "name": format!("waiter {i}")}),
        )
        .await;
        let url = format!(
            "{base}/api/mail/wait/{}?projectId={pid}&timeout=60000",
            s["id"].as_str().unwrap()
        );
        let http = http.clone();
        waits.push(tokio::spawn(async move {
            let r = http.get(url).send().await.expect("answered, not cut");
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    // All three waits are pending (the server's gauge says so) before the signal.
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    let pending = local::wait_for(
        async || {
            let Ok(r) = http.get(&metrics).send().await else {
                return false;
            };
            let text = r.text().await.unwrap_or_default();
            maestro_testkit::poll::metric(&text, "maestro_mail_waits_pending") == 3.0
        },
        Duration::from_secs(60),
    )
    .await;
    assert!(pending, "the three waits are pending");
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // During the grace the listener still answers, and readiness says so.
    let draining = local::wait_for(
        async || match http.get(format!("{base}/health/ready")).send().await {
            Ok(r) if r.status() == 503 => r
                .json::<Value>()
                .await
                .is_ok_and(|b| b["status"] == "draining"),
            _ => false,
        },
        Duration::from_secs(5),
    )
    .await;
    assert!(
        draining,
        "/health/ready answered 503 draining after SIGTERM"
    );
    for w in waits {
        let (status, body) = w.await.unwrap();
        assert_eq!(
            (status, body),
            (200, json!([])),
            "a pending wait answers []"
        );
    }
    // The phone's connection is closed by the server (its client would reconnect).
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while phone.next().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "the /mobile connection was closed");
    let deadline = Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(s) = server.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "a drain in time exits 0");
    eprintln!("drained and exited {:?} after SIGTERM", signalled.elapsed());
}
