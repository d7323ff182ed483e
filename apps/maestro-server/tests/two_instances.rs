//! Two `maestro-server` processes sharing one (private) Redis and one PostgreSQL behind the
//! PostgREST stand-in: what one instance does, the other sees, once.
//! - a REST write on A reaches a Socket.IO `/mobile` client of B exactly once;
//! - mail sent through A wakes a mail wait held by B;
//! - a task claimed through A is `409 TASK_CLAIMED` through B, and when the holder stops
//!   heartbeating its session fails once and the claim is released once (seen on B), after
//!   which B's session takes it with a greater fencing token;
//! - under a stream of writes, A is killed with SIGKILL: its `/mobile` client resumes on B
//!   from the last event id it saw and then has every acknowledged write exactly once, in
//!   order, and B stores every acknowledged write.
//!
//! Needs `redis-server`, PostgreSQL and postrust: fails when `CI` is set and one is missing,
//! skips loudly otherwise.
#![allow(clippy::unwrap_used, dead_code)]

#[path = "../../../crates/maestro-supabase/tests/support/mod.rs"]
mod support;

#[path = "../../../crates/maestro-http/tests/matrix/mod.rs"]
mod matrix;

#[path = "../../../crates/maestro-http/tests/fleet/mod.rs"]
mod fleet;

mod http_target;
mod instance;
mod private_redis;
mod push_service;

use private_redis::{Killed, free_port};

use std::process::Child;
use std::time::{Duration, Instant};

use maestro_client::requests::{ClaimTask, NewSession, NewTask, ProjectInput, SendMail, WaitQuery};
use maestro_client::{Client, Subscription};
use maestro_domain::model::{MailMessageType, SessionStatus};

const TOKEN: &str = "two-instances-token-5e4d3c2b1a0f9e8d7c6b5a49";
const SESSION_KEY: &str = "two-instances-session-key-0f1e2d3c4b5a6978";

fn instance(env: &support::Env, redis_port: u16, dir: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let child = instance::on_supabase(env, &env.rest_url, TOKEN, port, dir)
        .env("REDIS_ENABLED", "true")
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("REDIS_KEY_PREFIX", format!("two-{redis_port}:"))
        .env("MAESTRO_SESSION_KEY", SESSION_KEY)
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

/// A new project through `c`.
async fn project(c: &Client, name: &str) -> maestro_domain::model::Project {
    c.create_project(&ProjectInput {
        name: Some(name.into()),
        working_dir: Some("/tmp/two".into()),
        description: None,
    })
    .await
    .unwrap()
}

/// Every event of `names` the subscription gets until `done` holds for them (failing after
/// `maestro_testkit::poll::PATIENCE`), and then for `settle` more, so that a repeat shows.
async fn collect_until(
    sub: &mut Subscription,
    names: &[&str],
    done: impl Fn(&[serde_json::Value]) -> bool,
    settle: Duration,
) -> Vec<serde_json::Value> {
    let patience = tokio::time::Instant::now() + maestro_testkit::poll::PATIENCE;
    let mut got = Vec::new();
    let mut deadline = patience;
    loop {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Some(e)) => {
                if names.contains(&e.name.as_str()) {
                    got.push(serde_json::json!({"name": e.name, "data": e.data["data"]}));
                }
            }
            Ok(None) => panic!("the subscription ended: {got:?}"),
            Err(_) if deadline == patience => panic!("still not done after waiting: {got:?}"),
            Err(_) => return got,
        }
        if deadline == patience && done(&got) {
            deadline = tokio::time::Instant::now() + settle;
        }
    }
}

/// Whether instance `url` holds a mail wait (its `maestro_mail_waits_pending` gauge).
async fn mail_waits_pending(url: &str) -> bool {
    let Ok(r) = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
    else {
        return false;
    };
    let text = r.text().await.unwrap_or_default();
    maestro_testkit::poll::metric(&text, "maestro_mail_waits_pending") >= 1.0
}

/// A private Redis and two instances A and B on it (and on the shared PostgreSQL); `None`
/// when redis-server is missing outside CI.
struct Pair {
    /// Redis, A, B (in that order): killed when the test ends.
    processes: Killed,
    a: Client,
    b: Client,
    a_url: String,
    b_url: String,
    _dir: tempfile::TempDir,
}

async fn pair() -> Option<Pair> {
    if !private_redis::available() {
        return None;
    }
    let env = support::env()?;
    let redis_port = free_port();
    let mut processes = Killed(vec![private_redis::start(redis_port)]);
    let dir = tempfile::tempdir().unwrap();
    let (a_child, a_url) = instance(env, redis_port, dir.path());
    processes.0.push(a_child);
    let (b_child, b_url) = instance(env, redis_port, dir.path());
    processes.0.push(b_child);
    let a = Client::builder(&a_url).token(TOKEN).build().unwrap();
    let b = Client::builder(&b_url).token(TOKEN).build().unwrap();
    up(&a).await;
    up(&b).await;
    Some(Pair {
        processes,
        a,
        b,
        a_url,
        b_url,
        _dir: dir,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_instance_does_the_other_sees_once() {
    let Some(Pair {
        a,
        b,
        b_url,
        processes: _guard,
        ..
    }) = pair().await
    else {
        return;
    };

    let p = project(&a, "Two instances").await;
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
    let made_id = made.id.clone();
    let seen = collect_until(
        &mut sub,
        &["task:created"],
        |got| got.iter().any(|e| e["data"]["id"] == made_id.as_str()),
        Duration::from_secs(1),
    )
    .await;
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
            b.wait_mail(
                &s2,
                &WaitQuery {
                    project_id: pid,
                    timeout_ms: Some(120_000),
                    since: Some(since),
                },
            )
            .await
            .unwrap()
        })
    };
    // B is waiting (its gauge says so) before A sends: the wake-up path runs, not the
    // inbox read at the start of the wait.
    maestro_testkit::poll::until_async("waiting on B", || mail_waits_pending(&b_url)).await;
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
    // Its own timeout is 120 s: answered within 60 s, it was woken (a hang guard, no figure).
    let got = tokio::time::timeout(Duration::from_secs(60), waiter)
        .await
        .expect("woken, not timed out")
        .unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, sent[0].id);

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
    let s1_id = s1.id.clone();
    let events = collect_until(
        &mut sub,
        &["task:claim_released", "notify:session_failed"],
        |got| {
            let seen = |name: &str| {
                got.iter()
                    .any(|e| e["name"] == name && e["data"]["sessionId"] == s1_id.as_str())
            };
            seen("task:claim_released") && seen("notify:session_failed")
        },
        Duration::from_secs(2),
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

/// The kill -9 drill: a writer keeps creating tasks (through A, then B once A is gone) while
/// a phone follows the project on A. A dies; the phone resumes on B after the last id it saw.
/// Every write that was acknowledged is then in the phone's stream exactly once (clients drop
/// a repeated id; the only repeats allowed are events of B's replay that were also routed live
/// right after it, each at most once), in the order it was acknowledged, and stored on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_a_killed_instance_resumes_on_the_other() {
    let Some(Pair {
        a,
        b,
        mut processes,
        ..
    }) = pair().await
    else {
        return;
    };
    let p = project(&a, "Kill drill").await;
    let mut sub = a.subscribe(&p.id).await.unwrap();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writer = {
        let (a, b, pid, acked) = (a.clone(), b.clone(), p.id.clone(), acked.clone());
        tokio::spawn(async move {
            let mut a_alive = true;
            for i in 0..120 {
                let title = format!("w{i}");
                let made = if a_alive {
                    match a.create_task(&NewTask::new(&pid, &title)).await {
                        Ok(t) => Some(t),
                        Err(_) => {
                            a_alive = false; // not acknowledged: the client may retry elsewhere
                            None
                        }
                    }
                } else {
                    None
                };
                let made = match made {
                    Some(t) => t,
                    None => b.create_task(&NewTask::new(&pid, &title)).await.unwrap(),
                };
                acked.lock().unwrap().push(made.id);
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };
    // Follow on A until it is killed mid-stream.
    let mut seen_ids = std::collections::HashSet::new();
    let mut repeats: Vec<String> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    let mut follow = |e: maestro_client::SubscriptionEvent,
                      tasks: &mut Vec<String>,
                      last: &mut Option<String>| {
        if let Some(id) = &e.id {
            if !seen_ids.insert(id.clone()) {
                repeats.push(id.clone());
                return;
            }
            *last = Some(id.clone());
        }
        if e.name == "task:created" {
            tasks.push(e.data["data"]["id"].as_str().unwrap().to_string());
        }
    };
    while tasks.len() < 30 {
        let e = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        follow(e, &mut tasks, &mut last);
    }
    processes.0[1].kill().unwrap();
    processes.0[1].wait().unwrap();
    // What A had already sent may still be buffered; then the stream ends.
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), sub.next()).await {
        follow(e, &mut tasks, &mut last);
    }
    let offset = last.clone().expect("events carry ids");
    // The phone takes a moment to find B: writes go on meanwhile, and it must get them.
    let at_kill = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < at_kill + 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sub = b.subscribe_from(&p.id, Some(&offset)).await.unwrap();
    let mut resumed = None;
    let mut replayed = std::collections::HashSet::new();
    writer.await.unwrap();
    let want = acked.lock().unwrap().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let acked_seen = |tasks: &[String]| tasks.iter().filter(|t| want.contains(t)).count();
    while acked_seen(&tasks) < want.len() {
        let e = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {} tasks seen", tasks.len(), want.len()))
            .unwrap();
        assert_ne!(e.name, maestro_client::RESYNC_REQUIRED, "{:?}", e.data);
        if e.name == maestro_client::RESUMED {
            resumed = Some(e.data.clone());
            continue;
        }
        if resumed.is_none()
            && let Some(id) = &e.id
        {
            replayed.insert(id.clone());
        }
        follow(e, &mut tasks, &mut last);
    }
    let mut repeated = std::collections::HashSet::new();
    for id in &repeats {
        assert!(
            replayed.contains(id),
            "{id} came twice but was not replayed"
        );
        assert!(repeated.insert(id), "{id} came more than twice");
    }
    let resumed = resumed.expect("state:resumed ends the replay");
    assert!(resumed["replayed"].as_u64().unwrap() > 0, "{resumed}");
    let acked_order: Vec<String> = tasks.iter().filter(|t| want.contains(t)).cloned().collect();
    assert_eq!(acked_order, want, "every acknowledged write once, in order");
    // A write A stored but could not acknowledge before it died may be there too (the
    // writer then made it again through B); nothing else is.
    assert!(
        tasks.len() <= want.len() + 1,
        "{} events for {} writes",
        tasks.len(),
        want.len()
    );
    let stored: std::collections::HashSet<String> = b
        .list_tasks(&maestro_client::requests::TaskQuery {
            project_id: Some(p.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert!(
        want.iter().all(|id| stored.contains(id)),
        "B stores every acknowledged write"
    );
}

/// The fleet simulation across both instances (requests alternate between A and B), on Redis
/// events and Supabase storage: every kind of caller at once, every outcome as the access
/// table says, every acknowledged write stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_caller_at_once_across_two_instances() {
    let Some(pair) = pair().await else {
        return;
    };
    let target = http_target::HttpTarget::new(
        support::env().expect("pair() checked the services"),
        vec![pair.a.base_url().to_string(), pair.b.base_url().to_string()],
        TOKEN,
        SESSION_KEY,
    );
    let fleet = fleet::setup(&target).await;
    fleet::run(&target, &fleet, fleet::seed(), 24).await;
}

/// A socket opened on B with an API key closes when the key is revoked through A, and one
/// opened on B with a session token closes when the session completes through A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_ended_on_one_instance_closes_its_sockets_on_the_other() {
    let Some(Pair {
        a,
        b,
        processes: _guard,
        ..
    }) = pair().await
    else {
        return;
    };
    let p = project(&a, "Revocation").await;
    let key = a
        .create_api_key(
            &p.id,
            &maestro_client::requests::NewApiKey {
                name: Some("agent".into()),
                team_member_id: None,
            },
        )
        .await
        .unwrap();
    let keyed = b.with_token(Some(key.key.clone()));
    let mut sub = keyed.subscribe(&p.id).await.unwrap();
    let started = Instant::now();
    a.revoke_api_key(&p.id, &key.info.id).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while sub.next().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "B closed the revoked key's socket");
    eprintln!("revoked on A, closed on B after {:?}", started.elapsed());
    assert!(
        keyed.subscribe(&p.id).await.is_err(),
        "the key no longer connects"
    );

    let s = a
        .create_session(&NewSession {
            project_id: p.id.clone(),
            name: Some("agent".into()),
            status: Some(SessionStatus::Working),
            ..Default::default()
        })
        .await
        .unwrap();
    let tokens = maestro_http::session_token::SessionTokens::new(SESSION_KEY.as_bytes().to_vec());
    let agent = b.with_token(Some(tokens.mint(&s.id, &p.id).unwrap()));
    let mut sub = agent.subscribe(&p.id).await.unwrap();
    a.update_session(
        &s.id,
        &maestro_client::requests::SessionPatch {
            status: Some(SessionStatus::Completed),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while sub.next().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "B closed the ended session's socket");
}

/// Web Push across instances (issue 27): a device subscribed through A; agents ask through A
/// and through B, one question at a time; each question is pushed exactly once (by the
/// instance it was asked on), signed with the one VAPID key both share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_pushed_once_across_two_instances() {
    if !private_redis::available() {
        return;
    }
    let Some(env) = support::env() else {
        return;
    };
    let push = push_service::PushServiceStandIn::start().await;
    let redis_port = free_port();
    let mut processes = Killed(vec![private_redis::start(redis_port)]);
    let dir = tempfile::tempdir().unwrap();
    let mut urls = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let child = instance::on_supabase(env, &env.rest_url, TOKEN, port, dir.path())
            .env("REDIS_ENABLED", "true")
            .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
            .env("REDIS_KEY_PREFIX", format!("push-{redis_port}:"))
            // One deployment: the subscriptions and the VAPID key are shared.
            .env("DATA_DIR", dir.path().join("shared-data"))
            .env("PUSH_ENDPOINT_ALLOWLIST", &push.origin)
            .spawn()
            .unwrap();
        processes.0.push(child);
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    let a = Client::builder(&urls[0]).token(TOKEN).build().unwrap();
    let b = Client::builder(&urls[1]).token(TOKEN).build().unwrap();
    up(&a).await;
    up(&b).await;
    let http = reqwest::Client::new();
    let call = async |url: &str, method: reqwest::Method, path: &str, body: serde_json::Value| {
        let r = http
            .request(method, format!("{url}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    };
    let config = call(
        &urls[1],
        reqwest::Method::GET,
        "/api/auth/config",
        serde_json::Value::Null,
    )
    .await;
    let key_b = config["push"]["publicKey"].as_str().unwrap().to_string();
    let config = call(
        &urls[0],
        reqwest::Method::GET,
        "/api/auth/config",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(config["push"]["publicKey"], key_b.as_str(), "one VAPID key");
    push.expect_vapid_key(&key_b);
    let phone = push.device("phone");
    call(
        &urls[0],
        reqwest::Method::POST,
        "/api/push/subscriptions",
        phone.subscription(),
    )
    .await;
    let p = project(&a, "push across instances").await;
    let s = call(
        &urls[0],
        reqwest::Method::POST,
        "/api/sessions",
        serde_json::json!({"projectId": p.id, "taskIds": [], "name": "asker"}),
    )
    .await;
    let sid = s["id"].as_str().unwrap().to_string();
    let path = format!("/api/sessions/{sid}");
    for i in 0..6usize {
        let url = &urls[i % 2];
        call(
            url,
            reqwest::Method::PATCH,
            &path,
            serde_json::json!({"needsInput": {"active": false}}),
        )
        .await;
        call(
            url,
            reqwest::Method::PATCH,
            &path,
            serde_json::json!({"needsInput": {"active": true, "message": format!("question {i}")}}),
        )
        .await;
        maestro_testkit::poll::until(&format!("question {i} pushed"), || {
            !push.errors().is_empty() || push.received_by("phone").len() > i
        })
        .await;
        assert!(push.errors().is_empty(), "{:?}", push.errors());
    }
    let bodies: Vec<String> = push
        .received_by("phone")
        .iter()
        .map(|r| r.payload["body"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..6).map(|i| format!("question {i}")).collect();
    assert_eq!(bodies, expected, "each question once, in order");
    drop(processes);
}

/// A write sent to A and retried on B with the same `Idempotency-Key` (a phone whose tunnel
/// moved to another instance) happens once: B answers A's answer, marked replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_on_the_other_instance_is_answered_once() {
    let Some(Pair {
        a,
        a_url,
        b_url,
        processes: _guard,
        ..
    }) = pair().await
    else {
        return;
    };
    let p = project(&a, "Idempotency").await;
    let body = serde_json::json!({"projectId": p.id, "fromSessionId": "mobile-user",
        "toSessionId": "mobile-user", "type": "notification", "subject": "once"});
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for url in [&a_url, &b_url, &b_url] {
        let res = http
            .post(format!("{url}/api/mail"))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", "retry-across-instances")
            .json(&body)
            .send()
            .await
            .unwrap();
        let replayed = res.headers().contains_key("idempotent-replayed");
        answers.push((res.status().as_u16(), replayed, res.text().await.unwrap()));
    }
    assert_eq!((answers[0].0, answers[0].1), (201, false));
    for later in &answers[1..] {
        assert_eq!((later.0, later.1), (201, true));
        assert_eq!(later.2, answers[0].2, "A's answer");
    }
    let inbox: serde_json::Value = http
        .get(format!(
            "{b_url}/api/mail/inbox/mobile-user?projectId={}",
            p.id
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let once = inbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["subject"] == "once")
        .count();
    assert_eq!(once, 1);
}
