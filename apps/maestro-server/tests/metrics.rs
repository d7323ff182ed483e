//! Metrics of the real binary, as wired: repository latency by adapter, events published,
//! heartbeats, claims (outcomes and held), mail waits pending and backend reconnects each move
//! by exactly what a scripted workload did; `METRICS_ADDR` serves them without credentials
//! while the main port still wants the server's.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod support;

mod instance;
mod local;
mod private_redis;
mod tcp_proxy;

use std::process::Command;
use std::time::Duration;

use local::wait_for;
use serde_json::{Value, json};

const TOKEN: &str = "metrics-binary-test-token-4f9a1c2e8b7d6053";

/// The value of the sample `name{labels}` (labels in recording order), 0 when absent.
use maestro_testkit::poll::metric as sample;

struct Server {
    base: String,
    metrics: String,
    http: reqwest::Client,
}

impl Server {
    async fn scrape(&self) -> String {
        let r = self.http.get(&self.metrics).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {v}");
        v
    }

    async fn up(&self) -> bool {
        wait_for(
            async || {
                self.http
                    .get(format!("{}/health/ready", self.base))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            },
            Duration::from_secs(20),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_filesystem_metrics_move_by_the_workload() {
    if !private_redis::available() {
        return;
    }
    let (redis_port, port, metrics_port) = (
        private_redis::free_port(),
        private_redis::free_port(),
        private_redis::free_port(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut guard = private_redis::Killed(vec![private_redis::start(redis_port)]);
    let server = Command::new(env!("CARGO_BIN_EXE_maestro-server"))
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.path().join("data"))
        .env("SESSION_DIR", dir.path().join("sessions"))
        .env("REDIS_ENABLED", "true")
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("REDIS_KEY_PREFIX", format!("metrics-test-{redis_port}:"))
        .env("MAESTRO_API_TOKEN", TOKEN)
        .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        .env("LOG_LEVEL", "error")
        .env_remove("MAIL_BACKEND")
        .env_remove("AUTH_MODE")
        .spawn()
        .unwrap();
    guard.0.push(server);
    let s = Server {
        base: format!("http://127.0.0.1:{port}"),
        metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
        http: reqwest::Client::new(),
    };
    assert!(s.up().await, "server did not come up");

    // The metrics listener wants no credential; the main port still does.
    let bare = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    let other = s
        .http
        .get(format!("http://127.0.0.1:{metrics_port}/api/projects"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    // A rebound name (DNS rebinding) gets no metrics; loopback names do.
    for (host, status) in [
        ("attacker.example:80", 421),
        ("localhost:9", 200),
        ("[::1]", 200),
    ] {
        let r = s
            .http
            .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "Host: {host}");
    }

    let p = s.post("/api/projects", json!({"name": "metrics"})).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let before = s.scrape().await;
    let task = s
        .post("/api/tasks", json!({"projectId": pid, "title": "measured"}))
        .await;
    let tid = task["id"].as_str().unwrap().to_string();
    let mut sessions = Vec::new();
    for name in ["a", "b"] {
        let v = s
            .post(
                "/api/sessions",
                json!({"projectId": pid, "taskIds": [tid], "name": name}),
            )
            .await;
        sessions.push(v["id"].as_str().unwrap().to_string());
    }
    for _ in 0..3 {
        s.post(
            &format!("/api/sessions/{}/heartbeat", sessions[0]),
            json!({}),
        )
        .await;
    }
    // One claim granted, one renewed, one refused.
    let claim = |sid: &str| json!({"sessionId": sid, "ttlMs": 60_000});
    s.post(&format!("/api/tasks/{tid}/claim"), claim(&sessions[0]))
        .await;
    s.post(&format!("/api/tasks/{tid}/claim"), claim(&sessions[0]))
        .await;
    let (status, _) = s
        .call(
            reqwest::Method::POST,
            &format!("/api/tasks/{tid}/claim"),
            Some(claim(&sessions[1])),
        )
        .await;
    assert_eq!(status, 409);
    // A mail wait stays pending until a mail wakes it.
    let wait = {
        let (http, url) = (
            s.http.clone(),
            format!(
                "{}/api/mail/wait/{}?projectId={pid}&timeout=20000",
                s.base, sessions[1]
            ),
        );
        tokio::spawn(async move {
            let r = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        })
    };
    let waits = "maestro_mail_waits_pending ";
    assert!(
        wait_for(
            async || sample(&s.scrape().await, waits) == 1.0,
            Duration::from_secs(5)
        )
        .await,
        "the pending wait is counted"
    );
    let during = s.scrape().await;
    assert_eq!(sample(&during, "maestro_claims_held "), 1.0, "{during}");
    s.post(
        "/api/mail",
        json!({"projectId": pid, "fromSessionId": sessions[0], "toSessionId": sessions[1],
               "type": "query", "subject": "s", "body": {}}),
    )
    .await;
    let woke = tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(woke.as_array().map(Vec::len), Some(1), "{woke}");
    let after = s.scrape().await;
    let moved = |name: &str| sample(&after, name) - sample(&before, name);
    assert_eq!(sample(&after, waits), 0.0);
    assert_eq!(
        moved(r#"maestro_events_published_total{event="task:created"}"#),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(r#"maestro_events_published_total{event="session:created"}"#),
        2.0
    );
    assert_eq!(
        moved(
            r#"maestro_repo_operation_duration_seconds_count{adapter="filesystem",repo="task",op="create",result="ok"}"#
        ),
        1.0
    );
    assert_eq!(
        moved(
            r#"maestro_repo_operation_duration_seconds_count{adapter="filesystem",repo="session",op="create",result="ok"}"#
        ),
        2.0
    );
    assert_eq!(
        moved(
            r#"maestro_repo_operation_duration_seconds_count{adapter="redis-streams",repo="mail",op="create_stamped_many",result="ok"}"#
        ),
        1.0
    );
    assert_eq!(moved("maestro_presence_heartbeats_total "), 3.0);
    for (outcome, n) in [("granted", 1.0), ("renewed", 1.0), ("refused", 1.0)] {
        assert_eq!(
            moved(&format!(r#"maestro_claims_total{{outcome="{outcome}"}}"#)),
            n,
            "{outcome}"
        );
    }
    let (status, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/api/tasks/{tid}/claim?sessionId={}", sessions[0]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let released = s.scrape().await;
    assert_eq!(sample(&released, "maestro_claims_held "), 0.0);
    assert_eq!(
        sample(&released, r#"maestro_claims_total{outcome="released"}"#)
            - sample(&before, r#"maestro_claims_total{outcome="released"}"#),
        1.0
    );
    let reconnects = r#"maestro_backend_reconnects_total{backend="redis"}"#;
    assert_eq!(sample(&released, reconnects), 0.0);

    // Redis restarts: one reconnect.
    let mut redis = guard.0.remove(0);
    redis.kill().unwrap();
    redis.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    guard.0.push(private_redis::start(redis_port));
    assert!(
        wait_for(
            async || sample(&s.scrape().await, reconnects) == 1.0,
            Duration::from_secs(15)
        )
        .await,
        "the reconnect is counted once: {}",
        s.scrape().await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgrest_reconnects_and_supabase_latency_are_counted() {
    let Some(env) = support::env() else {
        return;
    };
    let proxy = tcp_proxy::Proxy::start(&env.rest_url).await;
    let (port, metrics_port) = (private_redis::free_port(), private_redis::free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut server = instance::on_supabase(env, &proxy.base, TOKEN, port, dir.path());
    server.env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"));
    let guard = private_redis::Killed(vec![server.spawn().unwrap()]);
    let s = Server {
        base: format!("http://127.0.0.1:{port}"),
        metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
        http: reqwest::Client::new(),
    };
    assert!(s.up().await, "server did not come up");
    let before = s.scrape().await;
    s.post("/api/projects", json!({"name": "on supabase"}))
        .await;
    let created = s.scrape().await;
    assert_eq!(
        sample(
            &created,
            r#"maestro_repo_operation_duration_seconds_count{adapter="supabase",repo="project",op="create",result="ok"}"#
        ) - sample(
            &before,
            r#"maestro_repo_operation_duration_seconds_count{adapter="supabase",repo="project",op="create",result="ok"}"#
        ),
        1.0,
        "{created}"
    );
    let reconnects = r#"maestro_backend_reconnects_total{backend="postgrest"}"#;
    assert_eq!(sample(&created, reconnects), 0.0);

    // PostgREST unreachable: requests fail in the error shape; then it answers again.
    proxy.hold();
    let (status, body) = s.call(reqwest::Method::GET, "/api/projects", None).await;
    assert_eq!(status, 503, "{body}");
    proxy.release();
    assert!(
        wait_for(
            async || s.call(reqwest::Method::GET, "/api/projects", None).await.0 == 200,
            Duration::from_secs(10)
        )
        .await
    );
    assert_eq!(sample(&s.scrape().await, reconnects), 1.0);
    drop(guard);
}
