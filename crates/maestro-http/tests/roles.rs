//! Who may call what: every REST route × every kind of caller (the table in `matrix/`, also
//! run on Supabase by `apps/maestro-server/tests/supabase_server.rs`), on the in-memory and the
//! FileSystem backends (signed-in users through a stand-in of Supabase Auth; roles from the
//! in-memory member store; session tokens minted by the server as for a spawned agent); every
//! caller on both Socket.IO namespaces and the raw WebSocket; session tokens, API keys and
//! sharing end to end.

#![allow(clippy::unwrap_used)]

mod common;
mod fleet;
mod matrix;

use std::collections::BTreeMap;

use common::mobile::MobileClient;
use common::{Adapters, Builder, TestServer, id, user_token};
use matrix::{Reply, Target, fixture, run_matrix};
use reqwest::Method;
use serde_json::{Value, json};

/// The server credential, used to build each fixture.
const API_TOKEN: &str = "rbac-matrix-token-4f9a8c2e71b34d5e9a0c6b1d";

impl Target for TestServer {
    async fn send(
        &self,
        bearer: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let r = self
            .req_as(Some(bearer.unwrap_or("")), method, path, body)
            .await;
        Reply {
            status: r.status,
            body: r.body,
        }
    }
    fn server_token(&self) -> String {
        API_TOKEN.into()
    }
    fn user_token(&self, name: &str) -> String {
        user_token(name)
    }
    fn user_id(&self, name: &str) -> String {
        name.into()
    }
    fn user_email(&self, name: &str) -> String {
        format!("{name}@example.test")
    }
    fn mint(&self, session: &str, project: &str) -> String {
        self.state.session_tokens().mint(session, project).unwrap()
    }
    fn name(&self) -> String {
        self.addr.to_string()
    }
}

async fn matrix_server(adapters: Adapters) -> TestServer {
    let srv = Builder::new(adapters)
        .token(API_TOKEN)
        .users(&USERS)
        .start()
        .await;
    srv.write_skill("sk", "---\nname: Sk\n---\nbody\n");
    srv
}

#[tokio::test]
async fn every_route_by_every_caller_in_memory() {
    run_matrix(&matrix_server(Adapters::Memory).await).await;
}

#[tokio::test]
async fn every_route_by_every_caller_on_the_filesystem() {
    run_matrix(&matrix_server(Adapters::Fs).await).await;
}

/// The fleet simulation ([`fleet`]) with both Socket.IO namespaces: every kind of caller at
/// once, each with its own credential. Every actor opens a `/mobile` socket on both projects
/// (admitted exactly when it may read the project) and the server a `/ui` socket; the REST
/// workload then runs, every outcome as the access table says, every acknowledged write stored
/// once in its project with its author, no refused write stored. Every socket got only its
/// project's events and every acknowledged task and mail of it exactly once (`/ui`: of both);
/// then every socket sends mail, which succeeds exactly when its caller may write, and is
/// stored exactly then.
async fn fleet_with_sockets(adapters: Adapters) {
    let srv = matrix_server(adapters).await;
    let fleet = fleet::setup(&srv).await;
    let mut sockets = Vec::new();
    for actor in &fleet.actors {
        for (project, who) in [(&fleet.p, actor.on_p), (&fleet.q, actor.on_q)] {
            let Some(mut phone) = MobileClient::connect(&srv, &actor.bearer, project).await else {
                return;
            };
            let first = phone.next(&["connected", "connect_error"]).await;
            assert_eq!(
                first["kind"] == "connected",
                fleet::may_read(who),
                "{} on /mobile of {project}: {first}",
                actor.name
            );
            if first["kind"] == "connected" {
                sockets.push((
                    actor.name.clone(),
                    project.clone(),
                    fleet::may_write(who),
                    phone,
                ));
            }
        }
    }
    let Some(mut desktop) = MobileClient::connect_to(&srv, "/ui", API_TOKEN, "").await else {
        return;
    };
    assert_eq!(
        desktop.next(&["connected", "connect_error"]).await["kind"],
        "connected"
    );

    let report = fleet::run(&srv, &fleet, fleet::seed(), 40).await;

    let quiet = std::time::Duration::from_millis(1500);
    let check = |who: &str, project: Option<&str>, lines: Vec<Value>| {
        let mut told: BTreeMap<String, usize> = BTreeMap::new();
        for line in lines.iter().filter(|l| l["kind"] == "event") {
            let data = &line["data"]["data"];
            if let (Some(p), Some(project)) = (data["projectId"].as_str(), project) {
                assert_eq!(p, project, "{who} was told of another project: {line}");
            }
            let marker = match line["name"].as_str() {
                Some("task:created") => data["title"].as_str(),
                Some("mail:received") => data["subject"].as_str(),
                _ => None,
            };
            if let Some(m) = marker {
                *told.entry(m.to_string()).or_default() += 1;
            }
        }
        for (marker, p) in &report.acked {
            let due = usize::from(project.is_none_or(|project| project == p));
            assert_eq!(
                told.get(marker).copied().unwrap_or(0),
                due,
                "{who}: events of {marker} (project {p})"
            );
        }
    };
    for (name, project, _, phone) in &mut sockets {
        let lines = phone.drain(quiet).await;
        check(
            &format!("{name} on {project}"),
            Some(project.as_str()),
            lines,
        );
    }
    check("/ui", None, desktop.drain(quiet).await);

    for (name, project, writes, phone) in &mut sockets {
        let subject = format!("fleet-socket-{name}-{project}");
        let mail = json!({"toSessionId": fleet.inbox_of(project), "subject": subject,
                          "body": {"text": "from the fleet"}});
        let sent = phone.emit("mail:send", mail).await;
        assert_eq!(
            sent["reply"]["success"], *writes,
            "mail:send by {name} on {project}: {sent}"
        );
        let inbox = srv
            .req_as(
                Some(API_TOKEN),
                Method::GET,
                &format!(
                    "/api/mail/inbox/{}?projectId={project}",
                    fleet.inbox_of(project)
                ),
                None,
            )
            .await
            .ok(200);
        let stored = inbox
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["subject"] == subject.as_str())
            .count();
        assert_eq!(stored, usize::from(*writes), "{subject} stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_caller_at_once_in_memory() {
    fleet_with_sockets(Adapters::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_caller_at_once_on_the_filesystem() {
    fleet_with_sockets(Adapters::Fs).await;
}

/// Listings show a user only what they are on.
#[tokio::test]
async fn listings_show_only_the_callers_projects() {
    let srv = users_server().await;
    let fx = fixture(&srv).await;
    let names = |v: &Value| -> BTreeMap<String, ()> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_string(), ()))
            .collect()
    };
    let as_user = |u: &'static str| {
        let srv = &srv;
        async move {
            srv.req_as(Some(&user_token(u)), Method::GET, "/api/projects", None)
                .await
                .ok(200)
        }
    };
    let bob = names(&as_user("bob").await);
    assert_eq!(bob.keys().cloned().collect::<Vec<_>>(), {
        let mut v = vec![fx.p.clone(), fx.e.clone()];
        v.sort();
        v
    });
    let dave = names(&as_user("dave").await);
    assert_eq!(
        dave.keys().cloned().collect::<Vec<_>>(),
        vec![fx.other_project.clone()]
    );
    assert!(names(&as_user("frank").await).is_empty());
    let token = srv.state.session_tokens().mint(&fx.s, &fx.p).unwrap();
    let mine = srv
        .req_as(Some(&token), Method::GET, "/api/projects", None)
        .await
        .ok(200);
    assert_eq!(
        names(&mine).keys().cloned().collect::<Vec<_>>(),
        vec![fx.p.clone()]
    );
    let all = srv.get("/api/projects").await.ok(200);
    assert_eq!(
        all.as_array().unwrap().len(),
        3,
        "the server credential sees everything"
    );
}

const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

async fn users_server() -> TestServer {
    Builder::new(Adapters::Memory)
        .token(API_TOKEN)
        .users(&USERS)
        .start()
        .await
}

/// A spawned agent's credential: the trusted local client gets `MAESTRO_SESSION_TOKEN` in the
/// `session:spawn` frame (never in the REST answer, the stored session or `session:updated`);
/// with it the agent works on its own project only — and not after its session ended. The
/// raw WebSocket (every project's events) refuses it.
#[tokio::test]
async fn a_spawned_agent_works_with_its_session_token_until_the_session_ends() {
    let srv = users_server().await;
    let fx = fixture(&srv).await;
    let bearer = format!("Bearer {API_TOKEN}");
    let mut desktop = srv
        .ws_with("/", &[("authorization", bearer.as_str())])
        .await
        .unwrap();
    let spawned = srv
        .post(
            "/api/sessions/spawn",
            json!({"projectId": fx.p, "taskIds": [fx.t]}),
        )
        .await
        .ok(201);
    let sid = spawned["sessionId"].as_str().unwrap().to_string();
    let (before, frame) = desktop.until_event("session:spawn").await;
    let token = frame["data"]["envVars"][maestro_http::session_token::ENV_VAR]
        .as_str()
        .unwrap_or_else(|| panic!("no session token in {frame}"))
        .to_string();
    assert!(
        !spawned.to_string().contains(&token),
        "not in the REST answer"
    );
    for f in &before {
        assert!(!f.to_string().contains(&token), "not in {f}");
    }
    let stored = srv.get(&format!("/api/sessions/{sid}")).await.ok(200);
    assert!(!stored.to_string().contains(&token), "not stored");

    let call = |method: Method, path: String, body: Option<Value>| {
        let (srv, token) = (&srv, token.clone());
        async move { srv.req_as(Some(&token), method, &path, body).await }
    };
    // What an agent does, on its project.
    call(Method::GET, format!("/api/sessions/{sid}"), None)
        .await
        .ok(200);
    call(
        Method::POST,
        format!("/api/sessions/{sid}/timeline"),
        Some(json!({"message": "working on it"})),
    )
    .await
    .ok(200);
    call(Method::POST, format!("/api/sessions/{sid}/heartbeat"), None)
        .await
        .ok(200);
    call(
        Method::PATCH,
        format!("/api/tasks/{}", fx.t),
        Some(json!({"status": "in_progress"})),
    )
    .await
    .ok(200);
    let inbox = call(
        Method::GET,
        format!("/api/mail/inbox/{sid}?projectId={}", fx.p),
        None,
    )
    .await
    .ok(200);
    assert!(inbox.is_array());
    // Nothing else.
    call(
        Method::GET,
        format!("/api/projects/{}", fx.other_project),
        None,
    )
    .await
    .err(404, "NOT_FOUND");
    call(Method::GET, format!("/api/projects/{}/members", fx.p), None)
        .await
        .err(403, "FORBIDDEN");
    call(Method::DELETE, format!("/api/projects/{}", fx.p), None)
        .await
        .err(403, "FORBIDDEN");
    let agent_bearer = format!("Bearer {token}");
    assert_eq!(
        srv.ws_with("/", &[("authorization", agent_bearer.as_str())])
            .await
            .err(),
        Some(403),
        "the raw WebSocket is for the desktop app"
    );
    // The session ends (the agent reports it): the token stops working.
    call(
        Method::PATCH,
        format!("/api/sessions/{sid}"),
        Some(json!({"status": "completed"})),
    )
    .await
    .ok(200);
    let e = call(Method::GET, format!("/api/sessions/{sid}"), None)
        .await
        .err(401, "UNAUTHORIZED");
    assert!(e["message"].as_str().unwrap().contains("has ended"), "{e}");
}

/// Project API keys on a single-user server (token mode, FileSystem): the server credential
/// creates one for a team member; the key is shown once, listed by its hint only (never its
/// hash), works like a session token on its project and nowhere else, refuses bad input
/// clearly, and stops working at once when revoked.
#[tokio::test]
async fn a_project_api_key_works_on_its_project_until_revoked() {
    let srv = Builder::new(Adapters::Fs).token(API_TOKEN).start().await;
    let p = id(&srv.project("K").await);
    let other = id(&srv.project("L").await);
    let tm = id(&srv
        .post(
            "/api/team-members",
            json!({"projectId": p, "name": "CI", "role": "runner", "avatar": "C"}),
        )
        .await
        .ok(201));
    let keys = format!("/api/projects/{p}/api-keys");
    srv.post(&keys, json!({}))
        .await
        .err(400, "VALIDATION_ERROR");
    srv.post(&keys, json!({"name": "x".repeat(201)}))
        .await
        .err(400, "VALIDATION_ERROR");
    srv.post(&keys, json!({"name": "ci", "teamMemberId": "tm_nope"}))
        .await
        .err(404, "NOT_FOUND");
    srv.post("/api/projects/proj_missing/api-keys", json!({"name": "ci"}))
        .await
        .err(404, "NOT_FOUND");
    let created = srv
        .post(&keys, json!({"name": "ci runner", "teamMemberId": tm}))
        .await
        .ok(201);
    let key = created["key"].as_str().unwrap().to_string();
    let key_id = id(&created);
    assert!(key.starts_with(&format!("mak1.{p}.{key_id}.")), "{created}");
    assert_eq!(created["teamMemberId"], tm);
    assert!(created.get("secretHash").is_none(), "{created}");
    let listed = srv.get(&keys).await.ok(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], key_id);
    assert_eq!(listed[0]["name"], "ci runner");
    let hint = listed[0]["hint"].as_str().unwrap();
    assert!(key.starts_with(hint.trim_end_matches('…')), "{hint}");
    for secret in [key.as_str(), &key[key.len() - 64..]] {
        assert!(
            !listed.to_string().contains(secret),
            "the key is shown once"
        );
    }
    let on_disk = std::fs::read_to_string(
        srv.data_dir
            .join("api-keys")
            .join(&p)
            .join(format!("{key_id}.json")),
    )
    .unwrap();
    assert!(!on_disk.contains(&key[key.len() - 64..]), "stored hashed");

    let call = |method: Method, path: String, body: Option<Value>| {
        let (srv, key) = (&srv, key.clone());
        async move { srv.req_as(Some(&key), method, &path, body).await }
    };
    let task = call(
        Method::POST,
        "/api/tasks".into(),
        Some(json!({"projectId": p, "title": "from the key"})),
    )
    .await
    .ok(201);
    call(
        Method::PATCH,
        format!("/api/tasks/{}", id(&task)),
        Some(json!({"status": "in_progress"})),
    )
    .await
    .ok(200);
    let listed = call(Method::GET, "/api/projects".into(), None)
        .await
        .ok(200);
    assert_eq!(listed.as_array().unwrap().len(), 1, "only its project");
    call(Method::GET, format!("/api/projects/{other}"), None)
        .await
        .err(404, "NOT_FOUND");
    call(Method::GET, keys.clone(), None)
        .await
        .err(403, "FORBIDDEN");
    call(Method::DELETE, format!("/api/projects/{p}"), None)
        .await
        .err(403, "FORBIDDEN");
    let agent_bearer = format!("Bearer {key}");
    assert_eq!(
        srv.ws_with("/", &[("authorization", agent_bearer.as_str())])
            .await
            .err(),
        Some(403),
        "the raw WebSocket is for the desktop app"
    );
    // A forged key of the same id, and the key of another project's id, are refused.
    let forged = format!("{}{}", &key[..key.len() - 64], "0".repeat(64));
    srv.req_as(
        Some(&forged),
        Method::GET,
        &format!("/api/projects/{p}"),
        None,
    )
    .await
    .err(401, "UNAUTHORIZED");
    let moved = key.replacen(&p, &other, 1);
    srv.req_as(
        Some(&moved),
        Method::GET,
        &format!("/api/projects/{other}"),
        None,
    )
    .await
    .err(401, "UNAUTHORIZED");

    let revoked = srv
        .req(Method::DELETE, &format!("{keys}/{key_id}"), None)
        .await
        .ok(200);
    assert_eq!(revoked["success"], true);
    srv.req(Method::DELETE, &format!("{keys}/{key_id}"), None)
        .await
        .err(404, "NOT_FOUND");
    let e = call(Method::GET, format!("/api/projects/{p}"), None)
        .await
        .err(401, "UNAUTHORIZED");
    assert!(e["message"].as_str().unwrap().contains("revoked"), "{e}");
    assert_eq!(srv.get(&keys).await.ok(200), json!([]));
}

/// Sharing end to end on /mobile: Bob, a viewer, gets the project's live events but cannot
/// write; promoted to editor he can; removed, his open socket is disconnected at once and he
/// cannot connect again.
#[tokio::test]
async fn sharing_changes_what_an_open_mobile_socket_may_do() {
    let srv = users_server().await;
    let fx = fixture(&srv).await;
    let bob = user_token("bob");
    let Some(mut phone) = MobileClient::connect(&srv, &bob, &fx.p).await else {
        return;
    };
    assert_eq!(
        phone.next(&["connected", "connect_error"]).await["kind"],
        "connected"
    );
    srv.task(&fx.p, "live").await;
    assert_eq!(
        phone.event("task:created").await["data"]["data"]["title"],
        "live"
    );
    let mail = json!({"toSessionId": fx.s, "subject": "from the phone", "body": {"text": "hi"}});
    let refused = phone.emit("mail:send", mail.clone()).await;
    assert_eq!(refused["reply"]["success"], false, "{refused}");
    assert!(
        refused["reply"]["error"]
            .as_str()
            .unwrap()
            .contains("viewer"),
        "{refused}"
    );
    let alice = user_token("alice");
    let members = format!("/api/projects/{}/members", fx.p);
    srv.req_as(
        Some(&alice),
        Method::PATCH,
        &format!("{members}/bob"),
        Some(json!({"role": "editor"})),
    )
    .await
    .ok(200);
    let changed = phone.event("project:members_changed").await;
    assert_eq!(changed["data"]["data"]["role"], "editor");
    let sent = phone.emit("mail:send", mail).await;
    assert_eq!(sent["reply"]["success"], true, "{sent}");
    srv.req_as(
        Some(&alice),
        Method::DELETE,
        &format!("{members}/bob"),
        None,
    )
    .await
    .ok(200);
    let gone = phone.next(&["disconnect"]).await;
    assert_eq!(gone["kind"], "disconnect", "{gone}");
    let Some(mut again) = MobileClient::connect(&srv, &bob, &fx.p).await else {
        return;
    };
    let refused = again.next(&["connected", "connect_error"]).await;
    assert_eq!(refused["kind"], "connect_error", "{refused}");
}

/// Every kind of caller on both Socket.IO namespaces (official JS client) and on the raw
/// WebSocket: `/mobile` of project P admits whoever may read P, and its handlers write only
/// for those who may write; `/ui` and the raw WebSocket (every project's events) admit only the
/// server's own credential.
#[tokio::test]
async fn every_caller_on_both_namespaces_and_the_raw_websocket() {
    use matrix::{EVERYONE, bearer};
    let srv = users_server().await;
    let fx = fixture(&srv).await;
    let mut callers: Vec<(String, Option<String>)> = EVERYONE
        .iter()
        .map(|w| (format!("{w:?}"), bearer(&srv, &fx, *w)))
        .collect();
    callers.push(("ServerToken".into(), Some(API_TOKEN.into())));
    for (who, token) in callers {
        let reads = [
            "Viewer",
            "Editor",
            "Owner",
            "SessionHere",
            "KeyHere",
            "ServerToken",
        ]
        .contains(&who.as_str());
        let writes = reads && who != "Viewer";
        let unrestricted = who == "ServerToken";
        let token = token.unwrap_or_default();
        let Some(mut phone) = MobileClient::connect(&srv, &token, &fx.p).await else {
            return;
        };
        let first = phone.next(&["connected", "connect_error"]).await;
        assert_eq!(
            first["kind"] == "connected",
            reads,
            "/mobile of P as {who}: {first}"
        );
        if reads {
            let sync = phone.emit("state:sync", json!({})).await;
            assert_eq!(
                sync["reply"]["success"], true,
                "state:sync as {who}: {sync}"
            );
            let mail = json!({"toSessionId": fx.s, "subject": "from the phone",
                              "body": {"text": "hi"}});
            let sent = phone.emit("mail:send", mail).await;
            assert_eq!(
                sent["reply"]["success"], writes,
                "mail:send as {who}: {sent}"
            );
        }
        drop(phone);
        let Some(mut desktop) = MobileClient::connect_to(&srv, "/ui", &token, "").await else {
            return;
        };
        let first = desktop.next(&["connected", "connect_error"]).await;
        assert_eq!(
            first["kind"] == "connected",
            unrestricted,
            "/ui as {who}: {first}"
        );
        let header = format!("Bearer {token}");
        let raw = if token.is_empty() {
            srv.ws_with("/", &[]).await.err()
        } else {
            srv.ws_with("/", &[("authorization", header.as_str())])
                .await
                .err()
        };
        let want = match who.as_str() {
            "ServerToken" => None,
            "NoToken" | "BadToken" | "SessionEnded" | "KeyRevoked" => Some(401),
            _ => Some(403),
        };
        assert_eq!(raw, want, "raw WebSocket as {who}");
    }
}

/// Rights end with the credential on open sockets too: a `/mobile` socket opened with an API
/// key closes when the key is revoked, one opened with a session token when its session
/// completes or is deleted, one opened with an access token when the token expires; none can
/// connect again with it. (Each close is pushed by the event that ends the credential, or by
/// the expiry sweep; the latency is printed.)
#[tokio::test]
async fn a_socket_closes_when_its_credential_ends() {
    let srv = users_server().await;
    let fx = fixture(&srv).await;
    let alice = user_token("alice");
    let connect = |token: String| {
        let srv = &srv;
        let p = fx.p.clone();
        async move {
            let mut phone = MobileClient::connect(srv, &token, &p).await?;
            let first = phone.next(&["connected", "connect_error"]).await;
            assert_eq!(first["kind"], "connected", "{first}");
            let sync = phone.emit("state:sync", json!({})).await;
            assert_eq!(sync["reply"]["success"], true, "{sync}");
            Some(phone)
        }
    };
    let closed = |mut phone: MobileClient, what: &'static str| async move {
        let started = std::time::Instant::now();
        let gone = phone.next(&["disconnect"]).await;
        assert_eq!(gone["reason"], "io server disconnect", "{what}: {gone}");
        eprintln!(
            "{what}: socket closed {:?} after the change",
            started.elapsed()
        );
    };
    let refused = |token: String| {
        let srv = &srv;
        let p = fx.p.clone();
        async move {
            let mut again = MobileClient::connect(srv, &token, &p).await.unwrap();
            let first = again.next(&["connected", "connect_error"]).await;
            assert_eq!(first["kind"], "connect_error", "{first}");
        }
    };

    // A revoked API key.
    let (key_id, key) = matrix::api_key(&srv, "alice", &fx.p).await;
    let Some(phone) = connect(key.clone()).await else {
        return;
    };
    srv.req_as(
        Some(&alice),
        Method::DELETE,
        &format!("/api/projects/{}/api-keys/{key_id}", fx.p),
        None,
    )
    .await
    .ok(200);
    closed(phone, "revoked API key").await;
    refused(key).await;

    // The token of a session that completes, and of one that is deleted.
    for end in ["completed", "deleted"] {
        let session = id(&srv
            .req_as(
                Some(API_TOKEN),
                Method::POST,
                "/api/sessions",
                Some(
                    json!({"projectId": fx.p, "taskIds": [], "name": "agent", "status": "working"}),
                ),
            )
            .await
            .ok(201));
        let token = srv.state.session_tokens().mint(&session, &fx.p).unwrap();
        let phone = connect(token.clone()).await.unwrap();
        let path = format!("/api/sessions/{session}");
        let change = match end {
            "completed" => {
                srv.req_as(
                    Some(API_TOKEN),
                    Method::PATCH,
                    &path,
                    Some(json!({"status": "completed"})),
                )
                .await
            }
            _ => {
                srv.req_as(Some(API_TOKEN), Method::DELETE, &path, None)
                    .await
            }
        };
        assert_eq!(change.status, 200, "{end}: {:?}", change.body);
        closed(phone, end).await;
        refused(token).await;
    }

    // An access token that expires while the socket is open.
    use maestro_domain::ports::Clock;
    let exp = maestro_domain::ids::SystemClock.now_ms() + 1_500;
    let token = common::expiring_user_token("alice", exp);
    let phone = connect(token.clone()).await.unwrap();
    closed(phone, "expired access token").await;
    refused(token).await;
}
