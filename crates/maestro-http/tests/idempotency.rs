//! `Idempotency-Key` on writes: a retried write is answered once (the phone's queued offline
//! replies and status changes), per caller, with the draft's `409`/`422` for a key in use or
//! reused for another request; on the in-memory and FileSystem backends, with several
//! callers at once.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Adapters, Builder, TestServer, id, user_token};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "idempotency-test-server-token-5d2c81";

async fn server(adapters: Adapters) -> TestServer {
    Builder::new(adapters)
        .token(TOKEN)
        .users(&["alice", "bob"])
        .start()
        .await
}

struct Answer {
    status: u16,
    replayed: bool,
    body: Value,
}

async fn send(
    srv: &TestServer,
    bearer: &str,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Value,
) -> Answer {
    let mut rb = reqwest::Client::new()
        .request(method, srv.url(path))
        .bearer_auth(bearer)
        .json(&body);
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    let res = rb.send().await.unwrap();
    Answer {
        status: res.status().as_u16(),
        replayed: res
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true"),
        body: res.json().await.unwrap_or(Value::Null),
    }
}

/// A project `user` owns.
async fn project_of(srv: &TestServer, user: &str) -> String {
    id(&srv
        .req_as(
            Some(&user_token(user)),
            Method::POST,
            "/api/projects",
            Some(json!({"name": format!("{user}'s"), "workingDir": "/tmp/p"})),
        )
        .await
        .ok(201))
}

/// The answers the agent got from the person (`response` mail in its inbox).
async fn replies(srv: &TestServer, project: &str, session: &str) -> usize {
    srv.get(&format!(
        "/api/mail/inbox/{session}?projectId={project}&type=response"
    ))
    .await
    .ok(200)
    .as_array()
    .unwrap()
    .len()
}

async fn a_retried_write_happens_once(adapters: Adapters) {
    let srv = server(adapters).await;
    let p = project_of(&srv, "alice").await;
    let agent = id(&srv.session(&p, &[]).await);
    srv.patch(
        &format!("/api/sessions/{agent}"),
        json!({"needsInput": {"active": true, "message": "Go?"}}),
    )
    .await
    .ok(200);
    let alice = user_token("alice");
    let reply = format!("/api/sessions/{agent}/reply");

    // The phone's queued reply, sent, then sent again (its answer was lost on the way).
    let first = send(
        &srv,
        &alice,
        Method::POST,
        &reply,
        Some("k-1"),
        json!({"message": "Yes"}),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.replayed);
    let again = send(
        &srv,
        &alice,
        Method::POST,
        &reply,
        Some("k-1"),
        json!({"message": "Yes"}),
    )
    .await;
    assert_eq!(again.status, 200);
    assert!(again.replayed, "marked Idempotent-Replayed");
    assert_eq!(again.body, first.body, "the first answer again");
    assert_eq!(
        replies(&srv, &p, &agent).await,
        1,
        "one reply reached the agent"
    );

    // Reused for another request: 422; a bad key: 400; both in the original's error shape.
    let other = send(
        &srv,
        &alice,
        Method::POST,
        &reply,
        Some("k-1"),
        json!({"message": "No"}),
    )
    .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.body["code"], "BUSINESS_RULE_ERROR");
    let bad = send(
        &srv,
        &alice,
        Method::POST,
        &reply,
        Some("has space"),
        json!({"message": "x"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["code"], "VALIDATION_ERROR");
    assert_eq!(replies(&srv, &p, &agent).await, 1);

    // Keys are the caller's own: the server's credential with the same key is another write.
    let server = send(
        &srv,
        TOKEN,
        Method::POST,
        &reply,
        Some("k-1"),
        json!({"message": "Yes"}),
    )
    .await;
    assert_eq!(server.status, 200);
    assert!(!server.replayed);
    assert_eq!(replies(&srv, &p, &agent).await, 2);

    // A status change queued offline: applied and announced once.
    let task = id(&srv.task(&p, "Ship it").await);
    srv.take_events();
    let path = format!("/api/tasks/{task}");
    for _ in 0..3 {
        let a = send(
            &srv,
            &alice,
            Method::PATCH,
            &path,
            Some("k-2"),
            json!({"status": "completed"}),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.body["status"], "completed");
    }
    let updated = srv
        .take_events()
        .iter()
        .filter(|e| *e == "task:updated")
        .count();
    assert_eq!(updated, 1, "one change, one event");

    // A refused write is replayed as refused (4xx is an answer); no header, no replay.
    let gone = send(
        &srv,
        &alice,
        Method::POST,
        "/api/sessions/sess_none/reply",
        Some("k-3"),
        json!({"message": "x"}),
    )
    .await;
    assert_eq!(gone.status, 404);
    let gone_again = send(
        &srv,
        &alice,
        Method::POST,
        "/api/sessions/sess_none/reply",
        Some("k-3"),
        json!({"message": "x"}),
    )
    .await;
    assert_eq!((gone_again.status, gone_again.replayed), (404, true));
    let plain = send(
        &srv,
        &alice,
        Method::POST,
        &reply,
        None,
        json!({"message": "Yes"}),
    )
    .await;
    assert!(!plain.replayed);
    assert_eq!(replies(&srv, &p, &agent).await, 3);
}

#[tokio::test]
async fn a_retried_write_happens_once_in_memory() {
    a_retried_write_happens_once(Adapters::Memory).await;
}

#[tokio::test]
async fn a_retried_write_happens_once_on_the_filesystem() {
    a_retried_write_happens_once(Adapters::Fs).await;
}

/// Several callers retry their own writes at once, each with its own keys and some keys in
/// common: every (caller, key) is stored exactly once, and every answer is the first one, a
/// replay of it, or `409` while it runs.
async fn concurrent_retries_of_several_callers(adapters: Adapters) {
    let srv = server(adapters).await;
    let (p, _, session) = srv.basics().await;
    let p2 = project_of(&srv, "bob").await;
    let bob_session = id(&srv.session(&p2, &[]).await);
    let callers = [
        (TOKEN.to_string(), p.clone(), session.clone()),
        (user_token("bob"), p2.clone(), bob_session.clone()),
    ];
    let mut sends = Vec::new();
    for (bearer, project, to) in &callers {
        for key in 0..4 {
            for _ in 0..6 {
                let key = format!("shared-{key}");
                let body = json!({"projectId": project, "fromSessionId": "mobile-user",
                    "toSessionId": to, "type": "notification", "subject": key.clone()});
                let srv = &srv;
                sends.push(async move {
                    let a = send(srv, bearer, Method::POST, "/api/mail", Some(&key), body).await;
                    (project.clone(), key, a)
                });
            }
        }
    }
    let answers = join_all(sends).await;
    for (project, key, a) in &answers {
        assert!(
            a.status == 201 || a.status == 409,
            "{project} {key}: {} {}",
            a.status,
            a.body
        );
    }
    for (bearer, project, to) in &callers {
        let inbox = srv
            .req_as(
                Some(bearer),
                Method::GET,
                &format!("/api/mail/inbox/{to}?projectId={project}"),
                None,
            )
            .await
            .ok(200);
        for key in 0..4 {
            let subject = format!("shared-{key}");
            let n = inbox
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["subject"] == subject.as_str())
                .count();
            assert_eq!(n, 1, "{subject} in {project}");
        }
    }
}

#[tokio::test]
async fn concurrent_retries_of_several_callers_in_memory() {
    concurrent_retries_of_several_callers(Adapters::Memory).await;
}

#[tokio::test]
async fn concurrent_retries_of_several_callers_on_the_filesystem() {
    concurrent_retries_of_several_callers(Adapters::Fs).await;
}

/// A client that goes away while its write runs (a phone losing its signal; the connection
/// is reset): the write still runs to its end and its answer is kept, so the retry gets it
/// and the agent is spawned once.
#[tokio::test]
async fn a_write_whose_client_went_away_is_answered_to_its_retry() {
    use tokio::io::AsyncWriteExt;
    let srv = Builder::new(Adapters::Memory)
        .token(TOKEN)
        .cli(common::Cli::Slow, std::time::Duration::from_secs(20))
        .start()
        .await;
    let (p, t, _) = srv.basics().await;
    let body = json!({"projectId": p, "taskIds": [t], "spawnSource": "ui", "sessionName": "Once"});
    let text = body.to_string();
    let request = format!(
        "POST /api/sessions/spawn HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: gone-1\r\n\
         Content-Length: {}\r\n\r\n{text}",
        srv.addr,
        text.len()
    );
    let mut conn = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    // The spawn is running (its CLI takes a second): reset the connection under it.
    maestro_testkit::poll::until_async("the spawn running", || async {
        send(
            &srv,
            TOKEN,
            Method::POST,
            "/api/sessions/spawn",
            Some("gone-1"),
            body.clone(),
        )
        .await
        .status
            == 409
    })
    .await;
    conn.set_zero_linger().unwrap();
    drop(conn);
    let retry = std::sync::Mutex::new(None);
    maestro_testkit::poll::until_async("answered once the first request is done", || async {
        let a = send(
            &srv,
            TOKEN,
            Method::POST,
            "/api/sessions/spawn",
            Some("gone-1"),
            body.clone(),
        )
        .await;
        let done = a.status != 409;
        *retry.lock().unwrap() = Some(a);
        done
    })
    .await;
    let retry = retry.into_inner().unwrap().unwrap();
    assert_eq!(
        (retry.status, retry.replayed),
        (201, true),
        "{}",
        retry.body
    );
    let sessions = srv
        .get(&format!("/api/sessions?projectId={p}"))
        .await
        .ok(200);
    let spawned = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "Once")
        .count();
    assert_eq!(spawned, 1, "spawned once");
}
