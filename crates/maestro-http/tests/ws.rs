//! Raw WebSocket bridge (EVENTS.md §4) with a real client (tokio-tungstenite): upgrade on any
//! path, ping/subscribe/unsubscribe replies, the envelope, the routing table of §4.4, origin
//! check and token auth on the upgrade.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ALLOWED_ORIGIN, Adapters, Builder, TestServer, id};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn upgrade_on_root_and_other_paths_ping_pong() {
    let s = TestServer::memory().await;
    // A path no route uses, and a path whose only route has another method.
    let mut open = Vec::new();
    for path in ["/", "/ws", "/some/deep/path?x=1", "/api/mail"] {
        let mut ws = s.ws(path).await;
        ws.send(json!({"type": "ping"})).await;
        let pong = ws.next_json().await;
        assert_eq!(pong["type"], "pong", "{path}");
        assert!(pong["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
        // Garbage is ignored silently; the connection stays usable.
        ws.stream
            .send(Message::Text("not json".into()))
            .await
            .unwrap();
        ws.send(json!({"type": "dance"})).await;
        ws.send(json!({"type": "subscribe", "sessionIds": "not-an-array"}))
            .await;
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.next_json().await["type"], "pong");
        open.push(ws);
    }
    let status = s.get("/ws-status").await.ok(200);
    assert_eq!(status["connectedClients"], 4);
    drop(open);
    // Closed clients are no longer counted.
    let mut n = 4;
    for _ in 0..50 {
        n = s.get("/ws-status").await.ok(200)["connectedClients"]
            .as_u64()
            .unwrap();
        if n == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(n, 0);
}

#[tokio::test]
async fn events_arrive_in_the_envelope() {
    let s = TestServer::memory().await;
    let mut ws = s.ws("/").await;
    let p = s.project("Live").await;
    let f = ws.next_json().await;
    assert_eq!(f["type"], "project:created");
    assert_eq!(f["event"], "project:created");
    assert_eq!(f["data"], p);
    assert!(f["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(
        f.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["type", "event", "data", "timestamp"]
    );
    // Several events of one request arrive in emission order.
    let pid = id(&p);
    let t = s.task(&pid, "T").await;
    let sess = s.session(&pid, &[&id(&t)]).await;
    let names: Vec<String> = [
        ws.next_json().await,
        ws.next_json().await,
        ws.next_json().await,
    ]
    .iter()
    .map(|f| f["event"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(
        names,
        ["task:created", "session:created", "task:session_added"]
    );
    // notify:task_in_review is forwarded too (DEFECTS C19).
    s.patch(
        &format!("/api/tasks/{}", id(&t)),
        json!({"status": "in_review"}),
    )
    .await
    .ok(200);
    assert_eq!(ws.next_json().await["event"], "task:updated");
    assert_eq!(ws.next_json().await["event"], "notify:task_in_review");
    drop(sess);
}

#[tokio::test]
async fn subscription_routes_by_session_and_unsubscribe_restores_all() {
    let s = TestServer::memory().await;
    let (pid, tid, x) = s.basics().await;
    let y = id(&s.session(&pid, &[&tid]).await);
    let mut sub = s.ws("/").await;
    let mut all = s.ws("/").await;

    sub.send(json!({"type": "subscribe", "sessionIds": [x, 42, null]}))
        .await;
    let ack = sub.next_json().await;
    assert_eq!(ack["type"], "subscribed");
    assert_eq!(ack["sessionIds"], json!([x.clone()]));
    assert!(ack["timestamp"].is_i64());

    // Y first, then X, then an unscoped task update.
    s.post(
        &format!("/api/sessions/{y}/events"),
        json!({"type": "y-event"}),
    )
    .await
    .ok(200);
    s.post(
        &format!("/api/sessions/{x}/events"),
        json!({"type": "x-event"}),
    )
    .await
    .ok(200);
    s.patch(&format!("/api/tasks/{tid}"), json!({"title": "renamed"}))
        .await
        .ok(200);
    let (before, task_updated) = sub.until_event("task:updated").await;
    assert_eq!(task_updated["data"]["id"], tid.as_str());
    let updates: Vec<&str> = before
        .iter()
        .filter(|f| f["event"] == "session:updated")
        .map(|f| f["data"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        updates,
        [x.as_str()],
        "only X's session:updated: {before:?}"
    );

    // The unfiltered client saw both.
    let (before, _) = all.until_event("task:updated").await;
    let updates: Vec<&str> = before
        .iter()
        .filter(|f| f["event"] == "session:updated")
        .map(|f| f["data"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(updates, [y.as_str(), x.as_str()]);

    // Y's deletion is Y-scoped (DEFECTS C20): the X subscriber does not get it, but gets the
    // unscoped mail that follows.
    s.delete(&format!("/api/sessions/{y}")).await.ok(200);
    s.post(
        "/api/mail",
        json!({"projectId": pid, "fromSessionId": x, "type": "notification", "subject": "hi"}),
    )
    .await
    .ok(201);
    let (before, _) = sub.until_event("mail:received").await;
    assert!(
        before
            .iter()
            .all(|f| f["event"] != "session:deleted" && f["event"] != "task:session_removed"),
        "{before:?}"
    );

    // Unsubscribe: everything again.
    sub.send(json!({"type": "unsubscribe"})).await;
    let ack = sub.next_json().await;
    assert_eq!(ack["type"], "unsubscribed");
    let z = id(&s.session(&pid, &[&tid]).await);
    let (_, created) = sub.until_event("session:created").await;
    assert_eq!(created["data"]["id"], z.as_str());
    sub.until_event("task:session_added").await;

    // An empty set yields only unscoped events.
    sub.send(json!({"type": "subscribe", "sessionIds": []}))
        .await;
    assert_eq!(sub.next_json().await["type"], "subscribed");
    s.post(&format!("/api/sessions/{z}/events"), json!({"type": "t"}))
        .await
        .ok(200);
    s.project("Unscoped").await;
    let f = sub.next_json().await;
    assert_eq!(f["event"], "project:created", "{f}");
    assert!(
        sub.try_next_json(Duration::from_millis(200))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn disallowed_origin_is_refused_on_upgrade() {
    let s = TestServer::memory().await;
    assert_eq!(
        s.ws_with("/", &[("Origin", "https://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert_eq!(s.ws_with("/", &[("Origin", "null")]).await.err(), Some(403));
    let mut ok = s
        .ws_with("/", &[("Origin", ALLOWED_ORIGIN)])
        .await
        .unwrap_or_else(|status| panic!("allowed origin refused with {status}"));
    ok.send(json!({"type": "ping"})).await;
    assert_eq!(ok.next_json().await["type"], "pong");
    let mut tauri = s
        .ws_with("/", &[("Origin", "tauri://localhost")])
        .await
        .unwrap();
    tauri.send(json!({"type": "ping"})).await;
    assert_eq!(tauri.next_json().await["type"], "pong");
}

#[tokio::test]
async fn auth_required_rest_401_and_ws_token_query() {
    let token = "t0ken-for-tests";
    let s = Builder::new(Adapters::Memory).token(token).start().await;
    // The harness client sends the token.
    s.get("/api/projects").await.ok(200);
    // Without it: 401 everywhere but /health.
    let bare = reqwest::Client::new();
    for path in ["/api/projects", "/ws-status", "/api/openapi.json"] {
        let r = bare.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], true);
        assert_eq!(body["code"], "UNAUTHORIZED");
    }
    let r = bare
        .get(s.url("/api/projects"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = bare
        .get(s.url(&format!("/api/projects?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        bare.get(s.url("/health"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    // WebSocket: refused without a token, accepted with ?token=.
    assert_eq!(s.ws_with("/", &[]).await.err(), Some(401));
    assert_eq!(s.ws_with("/?token=nope", &[]).await.err(), Some(401));
    let mut ws = s
        .ws_with(&format!("/?token={token}"), &[])
        .await
        .unwrap_or_else(|status| panic!("token refused with {status}"));
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
    s.project("Seen").await;
    assert_eq!(ws.next_json().await["event"], "project:created");
}

#[tokio::test]
async fn clients_are_closed_on_shutdown() {
    let s = TestServer::memory().await;
    let mut ws = s.ws("/").await;
    s.state.services().begin_shutdown();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.stream.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server closes WebSocket clients when shutting down"
    );
}

#[tokio::test]
async fn pending_mail_waits_answer_empty_on_shutdown() {
    let s = TestServer::memory().await;
    s.seed("proj_1", &["sess_w"]).await;
    // The wait's own timeout is 120 s: answered before 60 s, it was answered by the shutdown.
    let waiter = s.get("/api/mail/wait/sess_w?projectId=proj_1&timeout=120000");
    let stop = async {
        let services = s.state.services();
        maestro_testkit::poll::until("waiting", || services.pending_mail_waits() == 1).await;
        services.begin_shutdown();
    };
    let (r, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(waiter, stop)
    })
    .await
    .expect("the shutdown answers a pending wait");
    assert_eq!(r.ok(200), json!([]));
}
