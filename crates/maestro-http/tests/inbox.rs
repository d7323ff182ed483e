//! The person's inbox (`GET /api/inbox`, issue 27) and the approvals that outlive a reload
//! (`state:sync` lists the pending modals), on the in-memory and FileSystem backends: what it
//! holds and in which order, that an answered approval and an ended session leave it, and
//! that each caller sees only the projects it may read, with several callers at once.

#![allow(clippy::unwrap_used)]

mod common;

use common::mobile::MobileClient;
use common::{Adapters, Builder, TestServer, id, user_token};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "inbox-test-server-token-7c1e9a40b2";

async fn server(adapters: Adapters) -> TestServer {
    Builder::new(adapters)
        .token(TOKEN)
        .users(&["alice", "bob", "dave"])
        .start()
        .await
}

async fn as_user(
    srv: &TestServer,
    user: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> common::Resp {
    srv.req_as(Some(&user_token(user)), method, path, body)
        .await
}

/// A project of `owner`, named `name`.
async fn project_of(srv: &TestServer, owner: &str, name: &str) -> String {
    id(&as_user(
        srv,
        owner,
        Method::POST,
        "/api/projects",
        Some(json!({"name": name, "workingDir": "/tmp/inbox"})),
    )
    .await
    .ok(201))
}

async fn named_session(srv: &TestServer, project: &str, name: &str) -> String {
    id(&srv
        .post(
            "/api/sessions",
            json!({"projectId": project, "name": name, "taskIds": []}),
        )
        .await
        .ok(201))
}

async fn ask(srv: &TestServer, session: &str, question: &str) {
    srv.patch(
        &format!("/api/sessions/{session}"),
        json!({"needsInput": {"active": true, "message": question, "options": ["Yes", "No"]}}),
    )
    .await
    .ok(200);
}

async fn mail(srv: &TestServer, project: &str, from: &str, to: Option<&str>, subject: &str) {
    srv.post(
        "/api/mail",
        json!({"projectId": project, "fromSessionId": from, "toSessionId": to,
               "type": "query", "subject": subject, "body": {"message": "see this"}}),
    )
    .await
    .ok(201);
}

fn ids(inbox: &Value, list: &str, key: &str) -> Vec<String> {
    inbox[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

async fn holds_what_waits_in_order(adapters: Adapters) {
    let srv = server(adapters).await;
    let p = project_of(&srv, "alice", "Payments").await;
    let first = named_session(&srv, &p, "Reviewer").await;
    let second = named_session(&srv, &p, "Builder").await;
    let ended = named_session(&srv, &p, "Finished").await;
    let failed = named_session(&srv, &p, "Crashed").await;
    ask(&srv, &first, "Merge it?").await;
    ask(&srv, &second, "Deploy?").await;
    ask(&srv, &ended, "Too late?").await;
    srv.patch(
        &format!("/api/sessions/{ended}"),
        json!({"status": "completed"}),
    )
    .await
    .ok(200);
    srv.patch(
        &format!("/api/sessions/{failed}"),
        json!({"status": "failed"}),
    )
    .await
    .ok(200);
    mail(
        &srv,
        &p,
        &first,
        Some("mobile-user"),
        "Done with the review",
    )
    .await;
    mail(&srv, &p, &second, None, "Everyone: build is green").await;
    mail(&srv, &p, &second, Some(&first), "Between agents").await;
    mail(&srv, &p, "mobile-user", None, "The person's own broadcast").await;
    srv.post(
        &format!("/api/sessions/{second}/modal"),
        json!({"modalId": "approve-deploy", "title": "Deploy to prod?", "html": "<p>ok?</p>"}),
    )
    .await
    .ok(200);

    let inbox = as_user(&srv, "alice", Method::GET, "/api/inbox", None)
        .await
        .ok(200);
    // Waiting: oldest first, the ended session is not waiting any more.
    assert_eq!(
        ids(&inbox, "waiting", "sessionId"),
        [first.clone(), second.clone()]
    );
    let w = &inbox["waiting"][0];
    assert_eq!(w["sessionName"], "Reviewer");
    assert_eq!(w["projectName"], "Payments");
    assert_eq!(w["message"], "Merge it?");
    assert_eq!(w["options"], json!(["Yes", "No"]));
    assert!(w["since"].as_i64().unwrap() > 0);
    // The approval, as `session:modal` showed it.
    let a = &inbox["approvals"][0];
    assert_eq!(inbox["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(a["modalId"], "approve-deploy");
    assert_eq!(a["title"], "Deploy to prod?");
    assert_eq!(a["html"], "<p>ok?</p>");
    assert_eq!(a["sessionName"], "Builder");
    assert_eq!(a["projectId"], p.as_str());
    // Failures.
    assert_eq!(ids(&inbox, "failures", "sessionId"), [failed]);
    assert_eq!(inbox["failures"][0]["sessionName"], "Crashed");
    // Mail: to the person and broadcasts, newest first, senders by name; not mail between
    // agents, not the person's own broadcast.
    assert_eq!(
        ids(&inbox, "mail", "subject"),
        ["Everyone: build is green", "Done with the review"]
    );
    assert_eq!(inbox["mail"][0]["fromName"], "Builder");
    assert_eq!(inbox["mail"][1]["fromName"], "Reviewer");
    assert_eq!(inbox["mail"][1]["projectName"], "Payments");
    // `since` narrows failures and mail, never what still waits.
    let later = inbox["generatedAt"].as_i64().unwrap();
    let newer = as_user(
        &srv,
        "alice",
        Method::GET,
        &format!("/api/inbox?since={later}"),
        None,
    )
    .await
    .ok(200);
    assert_eq!(newer["mail"], json!([]));
    assert_eq!(newer["failures"], json!([]));
    assert_eq!(newer["waiting"].as_array().unwrap().len(), 2);
    assert_eq!(newer["approvals"].as_array().unwrap().len(), 1);
    // Bad input: the original's error shape.
    as_user(
        &srv,
        "alice",
        Method::GET,
        "/api/inbox?since=yesterday",
        None,
    )
    .await
    .err(400, "VALIDATION_ERROR");

    // Answering the approval and the question empties what waits.
    srv.post(
        &format!("/api/sessions/{second}/modal/approve-deploy/actions"),
        json!({"action": "approve"}),
    )
    .await
    .ok(200);
    srv.post(
        &format!("/api/sessions/{first}/reply"),
        json!({"message": "Yes"}),
    )
    .await
    .ok(200);
    let after = as_user(&srv, "alice", Method::GET, "/api/inbox", None)
        .await
        .ok(200);
    assert_eq!(after["approvals"], json!([]));
    assert_eq!(ids(&after, "waiting", "sessionId"), [second]);
}

#[tokio::test]
async fn holds_what_waits_in_order_in_memory() {
    holds_what_waits_in_order(Adapters::Memory).await;
}

#[tokio::test]
async fn holds_what_waits_in_order_on_the_filesystem() {
    holds_what_waits_in_order(Adapters::Fs).await;
}

/// alice owns P (bob a viewer), dave owns Q; an agent of each waits and writes to the person.
/// Many callers read their inbox at once: each sees exactly the projects it may read.
async fn each_caller_sees_its_own_projects(adapters: Adapters) {
    let srv = server(adapters).await;
    let p = project_of(&srv, "alice", "P").await;
    let q = project_of(&srv, "dave", "Q").await;
    as_user(
        &srv,
        "alice",
        Method::POST,
        &format!("/api/projects/{p}/members"),
        Some(json!({"userId": "bob", "role": "viewer"})),
    )
    .await
    .ok(201);
    let agent_p = named_session(&srv, &p, "agent P").await;
    let agent_q = named_session(&srv, &q, "agent Q").await;
    for (project, agent) in [(&p, &agent_p), (&q, &agent_q)] {
        ask(&srv, agent, "Which way?").await;
        mail(&srv, project, agent, Some("mobile-user"), "For you").await;
        srv.post(
            &format!("/api/sessions/{agent}/modal"),
            json!({"modalId": format!("ok-{agent}"), "html": "<p>ok?</p>"}),
        )
        .await
        .ok(200);
    }
    let session_p = srv.state.session_tokens().mint(&agent_p, &p).unwrap();
    let callers: Vec<(String, Vec<&String>)> = vec![
        (user_token("alice"), vec![&p]),
        (user_token("bob"), vec![&p]),
        (user_token("dave"), vec![&q]),
        (TOKEN.to_string(), vec![&p, &q]),
        (session_p, vec![&p]),
    ];
    let reads = (0..8).flat_map(|_| callers.iter()).map(|(bearer, may)| {
        let srv = &srv;
        async move {
            let inbox = srv
                .req_as(Some(bearer), Method::GET, "/api/inbox", None)
                .await
                .ok(200);
            for list in ["waiting", "approvals", "mail"] {
                let mut seen: Vec<String> = inbox[list]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["projectId"].as_str().unwrap().to_string())
                    .collect();
                seen.sort();
                let mut want: Vec<String> = may.iter().map(|s| s.to_string()).collect();
                want.sort();
                assert_eq!(seen, want, "{list} of a caller that may read {may:?}");
            }
        }
    });
    join_all(reads).await;
    // No credential: 401, the original's shape.
    srv.req_as(Some(""), Method::GET, "/api/inbox", None)
        .await
        .err(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn each_caller_sees_its_own_projects_in_memory() {
    each_caller_sees_its_own_projects(Adapters::Memory).await;
}

#[tokio::test]
async fn each_caller_sees_its_own_projects_on_the_filesystem() {
    each_caller_sees_its_own_projects(Adapters::Fs).await;
}

/// An approval shown before the phone connected is in its `state:sync`, and an answered one
/// is not: approvals outlive a reload of the app.
#[tokio::test]
async fn state_sync_lists_the_approvals_still_waiting() {
    let srv = server(Adapters::Fs).await;
    let p = project_of(&srv, "alice", "P").await;
    let agent = named_session(&srv, &p, "agent").await;
    for modal in ["first", "second"] {
        srv.post(
            &format!("/api/sessions/{agent}/modal"),
            json!({"modalId": modal, "title": format!("Approve {modal}?"), "html": "<p>?</p>"}),
        )
        .await
        .ok(200);
    }
    srv.post(
        &format!("/api/sessions/{agent}/modal/first/close"),
        json!({}),
    )
    .await
    .ok(200);
    let Some(mut phone) = MobileClient::connect(&srv, &user_token("alice"), &p).await else {
        return;
    };
    assert_eq!(
        phone.next(&["connected", "connect_error"]).await["kind"],
        "connected"
    );
    let synced = phone.emit("state:sync", json!({})).await;
    let modals = synced["reply"]["modals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(modals.len(), 1, "{synced}");
    assert_eq!(modals[0]["modalId"], "second");
    assert_eq!(modals[0]["title"], "Approve second?");
    assert_eq!(modals[0]["sessionId"], agent.as_str());
    assert_eq!(modals[0]["projectId"], p.as_str());
    // The session ends: nobody is left to read an answer.
    srv.patch(
        &format!("/api/sessions/{agent}"),
        json!({"status": "stopped"}),
    )
    .await
    .ok(200);
    let synced = phone.emit("state:sync", json!({})).await;
    assert_eq!(synced["reply"]["modals"], json!([]), "{synced}");
}
