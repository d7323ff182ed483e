//! `LOG_FORMAT=json`: the real binary writes one JSON object per line, and a request's lines
//! carry its request id (the client's `X-Request-Id`, also echoed in the response header).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod local;
mod private_redis;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let port = private_redis::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut server = local::command(port, dir.path())
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "debug")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = server.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    local::wait_up(&http, &base).await;
    let r = http
        .get(format!("{base}/api/projects/proj_nope"))
        .header("x-request-id", "json-log-test-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-request-id"], "json-log-test-7");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    let found = loop {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            assert!(
                Instant::now() < deadline,
                "no log line of the request: {lines:#?}"
            );
            continue;
        };
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if v["span"]["request_id"] == "json-log-test-7" {
            break v;
        }
        lines.push(line);
    };
    assert_eq!(found["message"], "request served", "{found}");
    assert_eq!(found["status"], 404, "{found}");
    assert_eq!(found["span"]["path"], "/api/projects/proj_nope", "{found}");
    assert!(
        found["timestamp"].is_string() && found["level"] == "DEBUG",
        "{found}"
    );
    let _ = server.kill();
    let _ = server.wait();
}
