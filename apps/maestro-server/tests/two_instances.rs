//! Two `maestro-server` processes sharing one (private) Redis and one PostgreSQL behind the
//! PostgREST stand-in: what one instance does, the other sees, once.
//! - a REST write on A reaches a Socket.IO `/mobile` client of B exactly once;
//! - mail sent through A wakes a mail wait held by B;
//! - a task claimed through A is `409 TASK_CLAIMED` through B, and when the holder stops
//!   heartbeating its session fails once and the claim is released once (seen on B), after
//!   which B's session takes it with a greater fencing token.
//!
//! Needs `redis-server`, PostgreSQL and postrust: fails when `CI` is set and one is missing,
//! skips loudly otherwise.
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod support;

mod private_redis;

use private_redis::{Killed, free_port};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use maestro_client::requests::{ClaimTask, NewSession, NewTask, ProjectInput, SendMail, WaitQuery};
use maestro_client::{Client, Subscription};
use maestro_domain::model::{MailMessageType, SessionStatus};

const TOKEN: &str = "two-instances-token-5e4d3c2b1a0f9e8d7c6b5a49";
const SESSION_KEY: &str = "two-instances-session-key-0f1e2d3c4b5a6978";

fn instance(env: &support::Env, redis_port: u16, dir: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_maestro-server"))
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.join(format!("data-{port}")))
        .env("SESSION_DIR", dir.join(format!("sessions-{port}")))
        .env("SUPABASE_ENABLED", "true")
        .env("SUPABASE_URL", "http://127.0.0.1")
        .env("SUPABASE_REST_URL", &env.rest_url)
        .env("SUPABASE_SERVICE_ROLE_KEY", &env.service_jwt)
        .env("SUPABASE_ANON_KEY", &env.anon_jwt)
        .env("SUPABASE_JWT_SECRET", support::JWT_SECRET)
        .env("REDIS_ENABLED", "true")
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("REDIS_KEY_PREFIX", format!("two-{redis_port}:"))
        .env("MAESTRO_API_TOKEN", TOKEN)
        .env("MAESTRO_SESSION_KEY", SESSION_KEY)
        .env("LOG_LEVEL", "error")
        .env_remove("AUTH_MODE")
        .env_remove("AUTH_TRUST_LOOPBACK")
        .env_remove("MAIL_BACKEND")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn up(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(h) = c.health().await
            && h["redis"]["ok"] == true
            && h["supabase"]["ok"] == true
        {
            return;
        }
        assert!(Instant::now() < deadline, "an instance did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every event of `names` the subscription gets within `window`.
async fn collect(
    sub: &mut Subscription,
    names: &[&str],
    window: Duration,
) -> Vec<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + window;
    let mut got = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, sub.next()).await {
        if names.contains(&e.name.as_str()) {
            got.push(serde_json::json!({"name": e.name, "data": e.data["data"]}));
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_instance_does_the_other_sees_once() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        let msg = "redis-server is not installed";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("\n!!! SKIPPED: {msg}\n");
        return;
    }
    let env = support::env();
    let redis_port = free_port();
    let mut guard = Killed(vec![private_redis::start(redis_port)]);
    std::thread::sleep(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let (a_child, a_url) = instance(env, redis_port, dir.path());
    guard.0.push(a_child);
    let (b_child, b_url) = instance(env, redis_port, dir.path());
    guard.0.push(b_child);
    let a = Client::builder(&a_url).token(TOKEN).build().unwrap();
    let b = Client::builder(&b_url).token(TOKEN).build().unwrap();
    up(&a).await;
    up(&b).await;

    let p = a
        .create_project(&ProjectInput {
            name: Some("Two instances".into()),
            working_dir: Some("/tmp/two".into()),
            description: None,
        })
        .await
        .unwrap();
    let t = a.create_task(&NewTask::new(&p.id, "Shared")).await.unwrap();
    let session = |name: &str| NewSession {
        project_id: p.id.clone(),
        task_ids: vec![t.id.clone()],
        name: Some(name.into()),
        status: Some(SessionStatus::Working),
        ..Default::default()
    };
    let s1 = a.create_session(&session("on A")).await.unwrap();
    let s2 = b.create_session(&session("on B")).await.unwrap();

    // A REST write on A reaches B's Socket.IO client exactly once.
    let mut sub = b.subscribe(&p.id).await.unwrap();
    let made = a
        .create_task(&NewTask::new(&p.id, "Made on A"))
        .await
        .unwrap();
    let seen = collect(&mut sub, &["task:created"], Duration::from_secs(2)).await;
    let ours: Vec<_> = seen
        .iter()
        .filter(|e| e["data"]["id"] == made.id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "exactly once: {seen:?}");

    // Mail sent through A wakes a wait held by B.
    let since = made.created_at;
    let waiter = {
        let (b, s2, pid) = (b.clone(), s2.id.clone(), p.id.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let got = b
                .wait_mail(
                    &s2,
                    &WaitQuery {
                        project_id: pid,
                        timeout_ms: Some(20_000),
                        since: Some(since),
                    },
                )
                .await
                .unwrap();
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = a
        .send_mail(&SendMail {
            project_id: p.id.clone(),
            from_session_id: s1.id.clone(),
            to_session_id: Some(s2.id.clone()),
            to_team_member_id: None,
            reply_to_mail_id: None,
            kind: MailMessageType::Query,
            subject: "Across instances".into(),
            body: None,
        })
        .await
        .unwrap();
    let (got, waited) = waiter.await.unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, sent[0].id);
    assert!(waited < Duration::from_secs(15), "woken, not timed out");

    // A claim through A is held for B.
    a.heartbeat(&s1.id).await.unwrap();
    let claim = a
        .claim_task(
            &t.id,
            &ClaimTask {
                session_id: Some(s1.id.clone()),
                ttl_ms: Some(600_000),
            },
        )
        .await
        .unwrap();
    let refused = b
        .claim_task(
            &t.id,
            &ClaimTask {
                session_id: Some(s2.id.clone()),
                ttl_ms: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("TASK_CLAIMED"));
    assert_eq!(
        refused.api().unwrap().details.as_ref().unwrap()["heldBy"],
        s1.id.as_str()
    );
    assert_eq!(
        b.get_task(&t.id).await.unwrap().claimed_by.as_deref(),
        Some(s1.id.as_str())
    );

    // s1 stops heartbeating: failed once, its claim released once, seen on B.
    let events = collect(
        &mut sub,
        &["task:claim_released", "notify:session_failed"],
        Duration::from_secs(28),
    )
    .await;
    let released: Vec<_> = events
        .iter()
        .filter(|e| e["name"] == "task:claim_released")
        .collect();
    assert_eq!(released.len(), 1, "released once: {events:?}");
    assert_eq!(released[0]["data"]["sessionId"], s1.id.as_str());
    assert_eq!(released[0]["data"]["reason"], "session_ended");
    let failed: Vec<_> = events
        .iter()
        .filter(|e| {
            e["name"] == "notify:session_failed" && e["data"]["sessionId"] == s1.id.as_str()
        })
        .collect();
    assert_eq!(failed.len(), 1, "failed once: {events:?}");
    assert_eq!(
        a.get_session(&s1.id).await.unwrap().status,
        SessionStatus::Failed
    );

    // Free again: B's session takes it, with a greater fencing token.
    let next = b
        .claim_task(
            &t.id,
            &ClaimTask {
                session_id: Some(s2.id.clone()),
                ttl_ms: None,
            },
        )
        .await
        .unwrap();
    assert!(next.fencing_token > claim.fencing_token);
}
