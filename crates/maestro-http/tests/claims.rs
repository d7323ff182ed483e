//! Fenced task claims over REST (in-memory lock): one holder, renewal, release by the holder
//! only, fencing tokens that only grow and refuse stale writes, claims lost when the session
//! ends, and the events of each step.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestServer;
use serde_json::{Value, json};

async fn setup() -> (TestServer, String, String, String, String) {
    let srv = TestServer::memory().await;
    let (p, t, a) = srv.basics().await;
    let b = srv.session(&p, &[&t]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    (srv, p, t, a, b)
}

fn claim_events(srv: &TestServer) -> Vec<(String, Value)> {
    srv.take_event_data()
        .into_iter()
        .filter(|(n, _)| n.starts_with("task:claim"))
        .collect()
}

#[tokio::test]
async fn one_holder_renewal_and_release() {
    let (srv, p, t, a, b) = setup().await;
    srv.take_events();
    let c = srv
        .post(
            &format!("/api/tasks/{t}/claim"),
            json!({"sessionId": a, "ttlMs": 20000}),
        )
        .await
        .ok(200);
    assert_eq!(c["taskId"], t.as_str());
    assert_eq!(c["sessionId"], a.as_str());
    assert_eq!(c["renewed"], false);
    let token = c["fencingToken"].as_u64().unwrap();
    assert!(c["expiresAt"].as_i64().unwrap() > 0);
    let task = srv.get(&format!("/api/tasks/{t}")).await.ok(200);
    assert_eq!(task["claimedBy"], a.as_str());
    assert_eq!(task["claimFencingToken"], token);
    let ev = claim_events(&srv);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].0, "task:claimed");
    assert_eq!(ev[0].1["projectId"], p.as_str());

    // Another session is refused and told who holds it.
    let e = srv
        .post(&format!("/api/tasks/{t}/claim"), json!({"sessionId": b}))
        .await
        .err(409, "TASK_CLAIMED");
    assert_eq!(e["details"]["heldBy"], a.as_str());
    assert!(e["details"]["expiresAt"].as_i64().unwrap() > 0);

    // The holder renews: same token.
    let again = srv
        .post(&format!("/api/tasks/{t}/claim"), json!({"sessionId": a}))
        .await
        .ok(200);
    assert_eq!(again["renewed"], true);
    assert_eq!(again["fencingToken"], token);

    // Only the holder releases.
    srv.delete(&format!("/api/tasks/{t}/claim?sessionId={b}"))
        .await
        .err(409, "TASK_CLAIMED");
    srv.take_events();
    let released = srv
        .delete(&format!("/api/tasks/{t}/claim?sessionId={a}"))
        .await
        .ok(200);
    assert!(released.get("claimedBy").is_none(), "{released}");
    let ev = claim_events(&srv);
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].0, "task:claim_released");
    assert_eq!(ev[0].1["reason"], "released");
    srv.delete(&format!("/api/tasks/{t}/claim?sessionId={a}"))
        .await
        .err(404, "NOT_FOUND");

    // The next holder gets a greater token.
    let next = srv
        .post(&format!("/api/tasks/{t}/claim"), json!({"sessionId": b}))
        .await
        .ok(200);
    assert!(next["fencingToken"].as_u64().unwrap() > token);
}

#[tokio::test]
async fn stale_fencing_tokens_are_refused() {
    let (srv, _p, t, a, b) = setup().await;
    let first = srv
        .post(&format!("/api/tasks/{t}/claim"), json!({"sessionId": a}))
        .await
        .ok(200)["fencingToken"]
        .as_u64()
        .unwrap();
    let ok = srv
        .patch(
            &format!("/api/tasks/{t}"),
            json!({"title": "Held write", "fencingToken": first}),
        )
        .await
        .ok(200);
    assert_eq!(ok["title"], "Held write");
    // a loses the claim; b takes it.
    srv.delete(&format!("/api/tasks/{t}/claim?sessionId={a}"))
        .await
        .ok(200);
    srv.patch(
        &format!("/api/tasks/{t}"),
        json!({"title": "No claim", "fencingToken": first}),
    )
    .await
    .err(409, "STALE_FENCING_TOKEN");
    let second = srv
        .post(&format!("/api/tasks/{t}/claim"), json!({"sessionId": b}))
        .await
        .ok(200)["fencingToken"]
        .as_u64()
        .unwrap();
    // a's late write, in the body or as If-Match, in user or session mode: refused.
    srv.patch(
        &format!("/api/tasks/{t}"),
        json!({"title": "Late", "fencingToken": first}),
    )
    .await
    .err(409, "STALE_FENCING_TOKEN");
    srv.patch(
        &format!("/api/tasks/{t}"),
        json!({"updateSource": "session", "sessionId": a, "sessionStatus": "completed",
               "fencingToken": first}),
    )
    .await
    .err(409, "STALE_FENCING_TOKEN");
    let late = srv
        .client()
        .patch(srv.url(&format!("/api/tasks/{t}")))
        .header("if-match", format!("\"{first}\""))
        .json(&json!({"title": "Late again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 409);
    let task = srv.get(&format!("/api/tasks/{t}")).await.ok(200);
    assert_eq!(task["title"], "Held write", "no stale write landed");
    assert!(task["taskSessionStatuses"].get(&a).is_none());
    // b's write with its token, as If-Match.
    let fresh = srv
        .client()
        .patch(srv.url(&format!("/api/tasks/{t}")))
        .header("if-match", second.to_string())
        .json(&json!({"title": "Fresh"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
    // Body and header must agree; a header that is no token is a bad request.
    for (header, body) in [
        (second.to_string(), json!({"fencingToken": first})),
        ("W/abc".into(), json!({})),
    ] {
        let r = srv
            .client()
            .patch(srv.url(&format!("/api/tasks/{t}")))
            .header("if-match", header)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    // Writes without a token are not fenced.
    srv.patch(&format!("/api/tasks/{t}"), json!({"title": "Unfenced"}))
        .await
        .ok(200);
}

#[tokio::test]
async fn a_session_that_ends_loses_its_claims_once() {
    let (srv, p, t, a, b) = setup().await;
    let t2 = srv.task(&p, "Second").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for task in [&t, &t2] {
        srv.post(&format!("/api/tasks/{task}/claim"), json!({"sessionId": a}))
            .await
            .ok(200);
    }
    srv.post(&format!("/api/tasks/{t2}/claim"), json!({"sessionId": b}))
        .await
        .err(409, "TASK_CLAIMED");
    srv.take_events();
    srv.patch(
        &format!("/api/sessions/{a}"),
        json!({"status": "completed"}),
    )
    .await
    .ok(200);
    let mut released = Vec::new();
    for _ in 0..100 {
        released.extend(claim_events(&srv));
        if released.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    released.extend(claim_events(&srv));
    assert_eq!(released.len(), 2, "once per task: {released:?}");
    assert!(released.iter().all(|(n, d)| n == "task:claim_released"
        && d["reason"] == "session_ended"
        && d["sessionId"] == a.as_str()));
    for task in [&t, &t2] {
        let got = srv.get(&format!("/api/tasks/{task}")).await.ok(200);
        assert!(got.get("claimedBy").is_none(), "{got}");
    }
    // Free again: b takes one; the ended session cannot claim any more.
    srv.post(&format!("/api/tasks/{t2}/claim"), json!({"sessionId": b}))
        .await
        .ok(200);
    srv.post(&format!("/api/tasks/{t}/claim"), json!({"sessionId": a}))
        .await
        .err(422, "BUSINESS_RULE_ERROR");
    // Deleting b's session releases its claim too.
    srv.delete(&format!("/api/sessions/{b}")).await.ok(200);
    let mut gone = false;
    for _ in 0..100 {
        let got = srv.get(&format!("/api/tasks/{t2}")).await.ok(200);
        if got.get("claimedBy").is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the deleted session's claim is released");
}

#[tokio::test]
async fn bad_claims_get_clear_errors() {
    let (srv, _p, t, a, _b) = setup().await;
    srv.post(&format!("/api/tasks/{t}/claim"), json!({}))
        .await
        .err(400, "VALIDATION_ERROR");
    for ttl in [0, 999, 600_001] {
        srv.post(
            &format!("/api/tasks/{t}/claim"),
            json!({"sessionId": a, "ttlMs": ttl}),
        )
        .await
        .err(400, "VALIDATION_ERROR");
    }
    srv.post("/api/tasks/task_missing/claim", json!({"sessionId": a}))
        .await
        .err(404, "NOT_FOUND");
    srv.post(
        &format!("/api/tasks/{t}/claim"),
        json!({"sessionId": "sess_missing"}),
    )
    .await
    .err(404, "NOT_FOUND");
    let (other_p, _, other_s) = srv.basics().await;
    let _ = other_p;
    srv.post(
        &format!("/api/tasks/{t}/claim"),
        json!({"sessionId": other_s}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    srv.delete(&format!("/api/tasks/{t}/claim"))
        .await
        .err(400, "VALIDATION_ERROR");
}
