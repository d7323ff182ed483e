//! Server-level Redis fault test (issue 6): the real `maestro-server` binary runs with
//! `REDIS_ENABLED=true` against a private `redis-server` (never the shared one on 6379); that
//! Redis is killed and restarted on the same port while REST calls keep going. Every call must
//! succeed (some of them while Redis is down), and `/health` must report Redis healthy again
//! after the restart (how soon is a figure of docs/BENCHMARKS.md, printed here). A phone
//! that resumes afterwards is told to resync (the restarted Redis lost the event log).
#![allow(clippy::unwrap_used)]

mod local;
mod private_redis;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use maestro_testkit::poll::PATIENCE;

use local::wait_for;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_keeps_answering_while_redis_restarts() {
    if !private_redis::available() {
        return;
    }
    let redis_port = private_redis::free_port();
    let server_port = private_redis::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut guard = private_redis::Killed(vec![private_redis::start(redis_port)]);
    let server = Command::new(env!("CARGO_BIN_EXE_maestro-server"))
        .env("PORT", server_port.to_string())
        .env("DATA_DIR", dir.path().join("data"))
        .env("REDIS_ENABLED", "true")
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("REDIS_KEY_PREFIX", format!("restart-test-{redis_port}:"))
        .env("MAIL_BACKEND", "fs")
        .env("LOG_LEVEL", "error")
        .env_remove("MAESTRO_API_TOKEN")
        .spawn()
        .unwrap();
    guard.0.push(server);
    let base = format!("http://127.0.0.1:{server_port}");
    let http = reqwest::Client::new();
    let health = || {
        let (http, base) = (http.clone(), base.clone());
        async move {
            match http.get(format!("{base}/health")).send().await {
                Ok(r) => r.json::<Value>().await.ok(),
                Err(_) => None,
            }
        }
    };
    assert!(
        wait_for(
            async || health().await.is_some_and(|h| h["redis"]["ok"] == true),
            Duration::from_secs(15)
        )
        .await,
        "server did not come up with Redis"
    );
    let project: Value = http
        .post(format!("{base}/api/projects"))
        .json(&json!({"name": "restart"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = project["id"].as_str().unwrap().to_string();
    // A phone that saw an event before the outage, to resume after it.
    let client = maestro_client::Client::builder(&base).build().unwrap();
    let mut phone = client.subscribe(&pid).await.unwrap();

    // Keep REST busy for the whole outage: rounds go on until the test stops them, and those
    // begun while Redis was down are counted (the test waits for some before ending it).
    let outage = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let outage_rounds = Arc::new(AtomicUsize::new(0));
    let load = {
        let (http, base, pid) = (http.clone(), base.clone(), pid.clone());
        let (outage, stop, outage_rounds) = (outage.clone(), stop.clone(), outage_rounds.clone());
        tokio::spawn(async move {
            let mut calls = 0;
            while !stop.load(Ordering::SeqCst) {
                let during = outage.load(Ordering::SeqCst);
                let r = http
                    .post(format!("{base}/api/tasks"))
                    .json(&json!({"projectId": pid, "title": format!("t{calls}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "POST during the Redis outage");
                let r = http
                    .get(format!("{base}/api/tasks?projectId={pid}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "GET during the Redis outage");
                calls += 1;
                if during && outage.load(Ordering::SeqCst) {
                    outage_rounds.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            calls
        })
    };
    let seen = tokio::time::timeout(PATIENCE, phone.next())
        .await
        .unwrap()
        .unwrap();
    let offset = seen.id.expect("events carry their log id");
    drop(phone);
    let mut redis = guard.0.remove(0);
    redis.kill().unwrap();
    redis.wait().unwrap();
    outage.store(true, Ordering::SeqCst);
    assert!(
        wait_for(
            async || health().await.is_some_and(|h| h["status"] == "degraded"),
            PATIENCE
        )
        .await,
        "/health must report the outage"
    );
    // Readiness names the missing backend; liveness does not care.
    let ready = http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "unavailable", "{ready}");
    assert_eq!(ready["failing"], json!(["redis"]), "{ready}");
    assert_eq!(ready["checks"]["dataDir"]["ok"], true, "{ready}");
    let live = http
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert!(
        wait_for(async || outage_rounds.load(Ordering::SeqCst) >= 3, PATIENCE).await,
        "REST answered during the outage"
    );
    outage.store(false, Ordering::SeqCst);
    guard.0.insert(0, private_redis::start(redis_port));
    let restarted = Instant::now();
    assert!(
        wait_for(
            async || health()
                .await
                .is_some_and(|h| h["redis"]["ok"] == true && h["status"] == "ok"),
            PATIENCE
        )
        .await,
        "Redis not healthy again"
    );
    // A figure, not a bound (docs/BENCHMARKS.md, "Redis restart").
    eprintln!(
        "healthy again {:?} after Redis restarted",
        restarted.elapsed()
    );
    let ready = http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "ready again once Redis answers");
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["failing"], json!([]), "{ready}");
    stop.store(true, Ordering::SeqCst);
    let calls = load.await.unwrap();
    eprintln!(
        "{calls} REST rounds, {} of them while Redis was down",
        outage_rounds.load(Ordering::SeqCst)
    );
    // The restarted Redis (no persistence) lost the event log: a resume is told to resync,
    // then live events flow again.
    let mut phone = client.subscribe_from(&pid, Some(&offset)).await.unwrap();
    let told = tokio::time::timeout(PATIENCE, phone.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        told.name,
        maestro_client::RESYNC_REQUIRED,
        "{:?}",
        told.data
    );
    assert_eq!(told.data["reason"], "unknown");
}
