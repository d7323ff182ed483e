//! The PostgreSQL drill: the real `maestro-server` on Supabase storage (PostgreSQL behind a
//! private postrust), with the database reached through a TCP proxy. Under a stream of writes
//! the database goes away (every connection cut, new ones refused), then comes back:
//! - while it is down, every request is answered — `503` in the spec's error shape, fast —
//!   and `/health` says which backend is down;
//! - once it is back, writes succeed again by themselves;
//! - every write that was acknowledged (`201`) is stored.
//!
//! Needs PostgreSQL and postrust: fails when `CI` is set and one is missing, skips loudly
//! otherwise.
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod support;

mod instance;
mod private_redis;
mod tcp_proxy;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "pg-outage-token-6f5e4d3c2b1a09f8e7d6c5b4a3928170";

/// What the writer saw: (status, latency, when it was answered, task id if created).
type Outcome = (u16, Duration, Instant, Option<String>);

/// Stops a postrust started by `support::start_postrust` (closing its stdin ends it).
struct Postrust(std::process::Child);

impl Drop for Postrust {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_fast_with_503_while_postgres_is_down_and_recover() {
    let Some(env) = support::env() else {
        return;
    };
    let pg = env
        .pg_base
        .trim_start_matches("postgres://postgres@")
        .to_string();
    let proxy = tcp_proxy::Proxy::start(&pg).await;
    let (postrust, rest_url) = support::start_postrust(
        &format!("postgres://postgres@127.0.0.1:{}", proxy.port),
        &env.db,
    )
    .unwrap();
    let port = private_redis::free_port();
    let dir = tempfile::tempdir().unwrap();
    let server = instance::on_supabase(env, &rest_url, TOKEN, port, dir.path())
        .env("REDIS_ENABLED", "false")
        .spawn()
        .unwrap();
    let _postrust = Postrust(postrust);
    let _server = private_redis::Killed(vec![server]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let health = || {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let r = http.get(format!("{base}/health")).send().await.ok()?;
            r.json::<Value>().await.ok()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !health().await.is_some_and(|h| h["supabase"]["ok"] == true) {
        assert!(
            Instant::now() < deadline,
            "the server did not come up on Supabase"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let project: Value = http
        .post(format!("{base}/api/projects"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "PG outage", "workingDir": "/tmp/pg"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = project["id"].as_str().unwrap().to_string();

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Consecutive 201s up to now, and 503s so far: the test moves on when these say so.
    let (streak, refusals) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let writer = {
        let (http, base, pid, stop) = (http.clone(), base.clone(), pid.clone(), stop.clone());
        let (streak, refusals) = (streak.clone(), refusals.clone());
        tokio::spawn(async move {
            let mut seen: Vec<Outcome> = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let started = Instant::now();
                let r = http
                    .post(format!("{base}/api/tasks"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"projectId": pid, "title": format!("w{i}")}))
                    .send()
                    .await
                    .expect("every request is answered");
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                if status != 201 {
                    assert_eq!(status, 503, "only 503 while the database is down: {body}");
                    assert_eq!(body["error"], true, "the spec's error shape: {body}");
                    assert!(
                        body["code"].is_string() && body["message"].is_string(),
                        "{body}"
                    );
                }
                if status == 201 {
                    streak.fetch_add(1, Ordering::SeqCst);
                } else {
                    streak.store(0, Ordering::SeqCst);
                    refusals.fetch_add(1, Ordering::SeqCst);
                }
                let id = (status == 201).then(|| body["id"].as_str().unwrap().to_string());
                seen.push((status, started.elapsed(), Instant::now(), id));
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        })
    };
    maestro_testkit::poll::until("writes before the outage", || {
        streak.load(Ordering::SeqCst) >= 3
    })
    .await;
    proxy.hold();
    let down_at = Instant::now();
    let deadline = Instant::now() + maestro_testkit::poll::PATIENCE;
    let report = loop {
        let h = health()
            .await
            .expect("/health answers while the database is down");
        if h["supabase"]["ok"] == false {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "/health never reported the outage: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(report["status"], "degraded", "{report}");
    // Fail fast: writes are refused while the database is down, not queued until it comes
    // back (queued ones would never be counted here).
    maestro_testkit::poll::until("writes refused during the outage", || {
        refusals.load(Ordering::SeqCst) >= 3
    })
    .await;
    proxy.release();
    let up_at = Instant::now();
    // Recovered: writes succeed again without a restart.
    let deadline = Instant::now() + maestro_testkit::poll::PATIENCE;
    loop {
        let r = http
            .post(format!("{base}/api/tasks"))
            .bearer_auth(TOKEN)
            .json(&json!({"projectId": pid, "title": "after"}))
            .send()
            .await
            .unwrap();
        if r.status() == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes did not recover: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_in = up_at.elapsed();
    maestro_testkit::poll::until("the writer's writes succeed again", || {
        streak.load(Ordering::SeqCst) >= 3
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let seen = writer.await.unwrap();

    let refused: Vec<&Outcome> = seen.iter().filter(|o| o.0 == 503).collect();
    // Fail fast: refusals were answered while the database was still down, not queued
    // until it came back.
    let refused_while_down = refused.iter().filter(|o| o.2 < up_at).count();
    assert!(
        refused_while_down >= 3,
        "requests during the outage were refused, not queued: {:?}",
        seen.iter().map(|o| o.0).collect::<Vec<_>>()
    );
    let slowest = refused.iter().map(|o| o.1).max().unwrap();
    eprintln!(
        "postgres outage: {} writes, {} refused (slowest refusal {slowest:?}), recovered {recovered_in:?} after the database returned ({:?} down)",
        seen.len(),
        refused.len(),
        up_at - down_at
    );
    assert!(
        seen.iter().rev().take(3).all(|o| o.0 == 201),
        "the last writes succeeded"
    );
    let stored: std::collections::HashSet<String> = http
        .get(format!("{base}/api/tasks?projectId={pid}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    for (_, _, _, id) in &seen {
        if let Some(id) = id {
            assert!(stored.contains(id), "acknowledged write {id} is stored");
        }
    }
}
