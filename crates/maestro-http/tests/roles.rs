//! Who may call what: every REST route × every kind of caller, on the in-memory and the
//! FileSystem backends (signed-in users through a stand-in of Supabase Auth; roles from the
//! in-memory member store; session tokens minted by the server as for a spawned agent).
//!
//! The table cannot drift from the router: every route the server serves must have a row.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Adapters, Builder, TestServer, id, user_token};
use reqwest::Method;
use serde_json::{Value, json};

/// The server credential, used to build each fixture.
const API_TOKEN: &str = "rbac-matrix-token-4f9a8c2e71b34d5e9a0c6b1d";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    BadToken,
    NonMember,
    Viewer,
    Editor,
    Owner,
    SessionHere,
    SessionElsewhere,
    SessionEnded,
    KeyHere,
    KeyElsewhere,
    KeyRevoked,
}

const EVERYONE: [Who; 12] = [
    Who::NoToken,
    Who::BadToken,
    Who::NonMember,
    Who::Viewer,
    Who::Editor,
    Who::Owner,
    Who::SessionHere,
    Who::SessionElsewhere,
    Who::SessionEnded,
    Who::KeyHere,
    Who::KeyElsewhere,
    Who::KeyRevoked,
];

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Served without credentials.
    Public,
    /// Any authenticated caller (nothing project-specific, or filtered to what they see).
    Authenticated,
    /// Signed-in users only: creating a project.
    CreateProject,
    /// A listing filtered by project: everybody authenticated gets `200`, strangers `[]`.
    ReadList,
    /// Reading one project's data.
    Read,
    /// Writing a project's tasks, sessions, mail, team members, orderings.
    Write,
    /// Changing the project record.
    EditProject,
    /// Deleting the project.
    Own,
    /// Reading the member list (users on the project; session tokens never).
    MembersRead,
    /// Changing members (owners only).
    MembersWrite,
}

/// The status `who` gets on a route of `class`; `None`: success (2xx).
fn expected(class: Class, who: Who) -> Option<u16> {
    use Who::*;
    if class == Class::Public {
        return None;
    }
    if matches!(who, NoToken | BadToken | SessionEnded | KeyRevoked) {
        return Some(401);
    }
    // Agents' credentials: session tokens and project API keys have the same rights.
    let session = matches!(who, SessionHere | SessionElsewhere | KeyHere | KeyElsewhere);
    let stranger = matches!(who, NonMember | SessionElsewhere | KeyElsewhere);
    match class {
        Class::Public | Class::Authenticated | Class::ReadList => None,
        Class::CreateProject => session.then_some(403),
        Class::Read => stranger.then_some(404),
        Class::Write => match who {
            _ if stranger => Some(404),
            Viewer => Some(403),
            _ => None,
        },
        Class::EditProject => match who {
            _ if stranger => Some(404),
            Viewer | SessionHere | KeyHere => Some(403),
            _ => None,
        },
        Class::Own => match who {
            _ if stranger => Some(404),
            Owner => None,
            _ => Some(403),
        },
        Class::MembersRead => match who {
            _ if session => Some(403),
            NonMember => Some(404),
            _ => None,
        },
        Class::MembersWrite => match who {
            _ if session => Some(403),
            NonMember => Some(404),
            Owner => None,
            _ => Some(403),
        },
    }
}

/// The records one case runs against: project `P` (with data) and the empty project `E`,
/// both owned by alice and shared with bob (viewer), carol (editor) and erin (viewer); dave's
/// own project `Q` with a live session.
struct Fixture {
    p: String,
    e: String,
    t: String,
    t2: String,
    s: String,
    ended: String,
    mail: String,
    member: String,
    archived: String,
    other_session: String,
    other_project: String,
    /// API keys: of P, of Q, of P but revoked; `spare` (of P) is the one owners revoke.
    key_here: String,
    key_elsewhere: String,
    key_revoked: String,
    spare_key: String,
}

/// Creates an API key of `project` as `owner`; returns `(id, key)`.
async fn api_key(srv: &TestServer, owner: &str, project: &str) -> (String, String) {
    let k = srv
        .req_as(
            Some(&user_token(owner)),
            Method::POST,
            &format!("/api/projects/{project}/api-keys"),
            Some(json!({"name": "matrix agent"})),
        )
        .await
        .ok(201);
    (id(&k), k["key"].as_str().unwrap().to_string())
}

/// One revoked API key per server: the failure limiter counts distinct refused credentials per
/// client, and a fresh revoked key for every fixture would look like guessing.
async fn revoked_key(srv: &TestServer, project: &str) -> String {
    static REVOKED: std::sync::Mutex<BTreeMap<String, String>> =
        std::sync::Mutex::new(BTreeMap::new());
    let server = srv.addr.to_string();
    if let Some(k) = REVOKED.lock().unwrap().get(&server) {
        return k.clone();
    }
    let (id, key) = api_key(srv, "alice", project).await;
    srv.req_as(
        Some(&user_token("alice")),
        Method::DELETE,
        &format!("/api/projects/{project}/api-keys/{id}"),
        None,
    )
    .await
    .ok(200);
    REVOKED.lock().unwrap().insert(server, key.clone());
    key
}

async fn fixture(srv: &TestServer) -> Fixture {
    let alice = user_token("alice");
    let mut projects = Vec::new();
    for name in ["P", "E"] {
        let p = srv
            .req_as(
                Some(&alice),
                Method::POST,
                "/api/projects",
                Some(json!({"name": name, "workingDir": "/tmp/rbac"})),
            )
            .await
            .ok(201);
        let pid = id(&p);
        for (user, role) in [("bob", "viewer"), ("carol", "editor"), ("erin", "viewer")] {
            srv.req_as(
                Some(&alice),
                Method::POST,
                &format!("/api/projects/{pid}/members"),
                Some(json!({"userId": user, "role": role})),
            )
            .await
            .ok(201);
        }
        projects.push(pid);
    }
    let (p, e) = (projects[0].clone(), projects[1].clone());
    let t = id(&srv.task(&p, "T").await);
    let t2 = id(&srv.task(&p, "T2").await);
    let s = id(&srv.session(&p, &[&t]).await);
    let ended = id(&srv.session(&p, &[&t]).await);
    srv.patch(
        &format!("/api/sessions/{ended}"),
        json!({"status": "completed"}),
    )
    .await
    .ok(200);
    let mail = srv
        .post(
            "/api/mail",
            json!({"projectId": p, "fromSessionId": s, "toSessionId": s, "type": "query",
                   "subject": "hello", "body": {"text": "b"}}),
        )
        .await
        .ok(201);
    let member = srv
        .post(
            "/api/team-members",
            json!({"projectId": p, "name": "Ann", "role": "reviewer", "avatar": "A"}),
        )
        .await
        .ok(201);
    let archived = id(&srv
        .post(
            "/api/team-members",
            json!({"projectId": p, "name": "Old", "role": "retired", "avatar": "O"}),
        )
        .await
        .ok(201));
    srv.post(
        &format!("/api/team-members/{archived}/archive?projectId={p}"),
        json!({"projectId": p}),
    )
    .await
    .ok(200);
    srv.post(
        &format!("/api/sessions/{s}/modal"),
        json!({"modalId": "m1", "html": "<p>pick</p>"}),
    )
    .await
    .ok(200);
    let q = srv
        .req_as(
            Some(&user_token("dave")),
            Method::POST,
            "/api/projects",
            Some(json!({"name": "Q", "workingDir": "/tmp/rbac-q"})),
        )
        .await
        .ok(201);
    let other_project = id(&q);
    let other_session = id(&srv.session(&other_project, &[]).await);
    let (_, key_here) = api_key(srv, "alice", &p).await;
    let (_, key_elsewhere) = api_key(srv, "dave", &other_project).await;
    let key_revoked = revoked_key(srv, &p).await;
    let (spare_key, _) = api_key(srv, "alice", &p).await;
    Fixture {
        p,
        e,
        t,
        t2,
        s,
        ended,
        mail: id(&mail),
        member: id(&member),
        archived,
        other_session,
        other_project,
        key_here,
        key_elsewhere,
        key_revoked,
        spare_key,
    }
}

fn bearer(srv: &TestServer, fx: &Fixture, who: Who) -> Option<String> {
    let mint = |s: &str, p: &str| srv.state.session_tokens().mint(s, p).unwrap();
    match who {
        Who::NoToken => None,
        Who::BadToken => Some("test-user-token:mallory".into()),
        Who::NonMember => Some(user_token("dave")),
        Who::Viewer => Some(user_token("bob")),
        Who::Editor => Some(user_token("carol")),
        Who::Owner => Some(user_token("alice")),
        Who::SessionHere => Some(mint(&fx.s, &fx.p)),
        Who::SessionElsewhere => Some(mint(&fx.other_session, &fx.other_project)),
        Who::SessionEnded => Some(mint(&fx.ended, &fx.p)),
        Who::KeyHere => Some(fx.key_here.clone()),
        Who::KeyElsewhere => Some(fx.key_elsewhere.clone()),
        Who::KeyRevoked => Some(fx.key_revoked.clone()),
    }
}

/// The class of a route and the request that exercises it on `fx`.
fn case(method: &Method, path: &str, fx: &Fixture, who: Who) -> (Class, String, Option<Value>) {
    use Class::*;
    let (p, t, s) = (&fx.p, &fx.t, &fx.s);
    let q = format!("projectId={p}");
    let m = method.as_str();
    let (class, url, body): (Class, String, Option<Value>) = match (m, path) {
        ("GET", "/health") | ("GET", "/api/auth/config") => (Public, path.into(), None),
        (
            "GET",
            "/ws-status"
            | "/api/openapi.json"
            | "/api/skills"
            | "/api/workflow-templates"
            | "/api/presence",
        ) => (Authenticated, path.into(), None),
        ("GET", "/api/skills/{id}") => (Authenticated, "/api/skills/sk".into(), None),
        ("GET", "/api/skills/mode/{mode}") => {
            (Authenticated, "/api/skills/mode/execute".into(), None)
        }
        ("POST", "/api/skills/{id}/reload") => {
            (Authenticated, "/api/skills/sk/reload".into(), None)
        }
        ("GET", "/api/workflow-templates/{id}") => (
            Authenticated,
            "/api/workflow-templates/coordinate-dag".into(),
            None,
        ),
        ("GET", "/api/ordering/{entity_type}/{project_id}") => {
            (ReadList, format!("/api/ordering/task/{p}"), None)
        }
        ("PUT", "/api/ordering/{entity_type}/{project_id}") => (
            Write,
            format!("/api/ordering/task/{p}"),
            Some(json!({"orderedIds": [t]})),
        ),
        ("GET", "/api/projects") => (Authenticated, path.into(), None),
        ("POST", "/api/projects") => (
            CreateProject,
            path.into(),
            Some(json!({"name": "new", "workingDir": "/tmp/n"})),
        ),
        ("GET", "/api/projects/{id}") => (Read, format!("/api/projects/{p}"), None),
        ("PUT", "/api/projects/{id}") => (
            EditProject,
            format!("/api/projects/{p}"),
            Some(json!({"name": "renamed"})),
        ),
        // The empty project, so that its owner can delete it; a session token tries its own
        // (refused before the emptiness check).
        ("DELETE", "/api/projects/{id}") if matches!(who, Who::SessionHere | Who::KeyHere) => {
            (Own, format!("/api/projects/{p}"), None)
        }
        ("DELETE", "/api/projects/{id}") => (Own, format!("/api/projects/{}", fx.e), None),
        ("GET", "/api/projects/{id}/members") => {
            (MembersRead, format!("/api/projects/{p}/members"), None)
        }
        ("POST", "/api/projects/{id}/members") => (
            MembersWrite,
            format!("/api/projects/{p}/members"),
            Some(json!({"email": "frank@example.test", "role": "viewer"})),
        ),
        ("PATCH", "/api/projects/{id}/members/{user_id}") => (
            MembersWrite,
            format!("/api/projects/{p}/members/erin"),
            Some(json!({"role": "editor"})),
        ),
        ("DELETE", "/api/projects/{id}/members/{user_id}") => (
            MembersWrite,
            format!("/api/projects/{p}/members/erin"),
            None,
        ),
        ("GET", "/api/projects/{id}/api-keys") => {
            (Own, format!("/api/projects/{p}/api-keys"), None)
        }
        ("POST", "/api/projects/{id}/api-keys") => (
            Own,
            format!("/api/projects/{p}/api-keys"),
            Some(json!({"name": "ci agent", "teamMemberId": fx.member})),
        ),
        ("DELETE", "/api/projects/{id}/api-keys/{key_id}") => (
            Own,
            format!("/api/projects/{p}/api-keys/{}", fx.spare_key),
            None,
        ),
        ("GET", "/api/tasks") => (ReadList, format!("/api/tasks?{q}"), None),
        ("POST", "/api/tasks") => (
            Write,
            path.into(),
            Some(json!({"projectId": p, "title": "new"})),
        ),
        ("GET", "/api/tasks/{id}") => (Read, format!("/api/tasks/{t}"), None),
        ("PATCH", "/api/tasks/{id}") => (
            Write,
            format!("/api/tasks/{t}"),
            Some(json!({"title": "renamed"})),
        ),
        ("DELETE", "/api/tasks/{id}") => (Write, format!("/api/tasks/{}", fx.t2), None),
        ("POST", "/api/tasks/{id}/timeline") => (
            Write,
            format!("/api/tasks/{t}/timeline"),
            Some(json!({"message": "m", "sessionId": s})),
        ),
        ("GET", "/api/tasks/{id}/docs") => (Read, format!("/api/tasks/{t}/docs"), None),
        ("GET", "/api/tasks/{id}/children") => (Read, format!("/api/tasks/{t}/children"), None),
        ("POST", "/api/sessions") => (
            Write,
            path.into(),
            Some(json!({"projectId": p, "taskIds": [t]})),
        ),
        ("GET", "/api/sessions") => (ReadList, format!("/api/sessions?{q}"), None),
        ("POST", "/api/sessions/spawn") => (
            Write,
            path.into(),
            Some(json!({"projectId": p, "taskIds": [t], "spawnSource": "ui", "mode": "execute"})),
        ),
        ("GET", "/api/sessions/{id}") => (Read, format!("/api/sessions/{s}"), None),
        ("PATCH", "/api/sessions/{id}") => (
            Write,
            format!("/api/sessions/{s}"),
            Some(json!({"status": "working"})),
        ),
        ("DELETE", "/api/sessions/{id}") => (Write, format!("/api/sessions/{s}"), None),
        ("POST", "/api/sessions/{id}/events") => (
            Write,
            format!("/api/sessions/{s}/events"),
            Some(json!({"type": "note", "data": {}})),
        ),
        ("POST", "/api/sessions/{id}/timeline") => (
            Write,
            format!("/api/sessions/{s}/timeline"),
            Some(json!({"message": "m"})),
        ),
        ("POST", "/api/sessions/{id}/docs") => (
            Write,
            format!("/api/sessions/{s}/docs"),
            Some(json!({"title": "d", "filePath": "/tmp/d.md", "taskId": t})),
        ),
        ("GET", "/api/sessions/{id}/docs") => (Read, format!("/api/sessions/{s}/docs"), None),
        ("POST", "/api/sessions/{id}/tasks/{task_id}") => {
            (Write, format!("/api/sessions/{s}/tasks/{}", fx.t2), None)
        }
        ("DELETE", "/api/sessions/{id}/tasks/{task_id}") => {
            (Write, format!("/api/sessions/{s}/tasks/{t}"), None)
        }
        ("POST", "/api/sessions/{id}/modal") => (
            Write,
            format!("/api/sessions/{s}/modal"),
            Some(json!({"modalId": "m2", "html": "<p/>"})),
        ),
        ("POST", "/api/sessions/{id}/modal/{modal_id}/actions") => (
            Write,
            format!("/api/sessions/{s}/modal/m1/actions"),
            Some(json!({"action": "ok"})),
        ),
        ("POST", "/api/sessions/{id}/modal/{modal_id}/close") => {
            (Write, format!("/api/sessions/{s}/modal/m1/close"), None)
        }
        ("POST", "/api/sessions/{id}/heartbeat") => {
            (Write, format!("/api/sessions/{s}/heartbeat"), None)
        }
        ("POST", "/api/mail") => (
            Write,
            path.into(),
            Some(
                json!({"projectId": p, "fromSessionId": s, "toSessionId": s, "type": "query",
                        "subject": "s", "body": {"text": "b"}}),
            ),
        ),
        ("GET", "/api/mail/inbox/{id}") => (Read, format!("/api/mail/inbox/{s}?{q}"), None),
        ("GET", "/api/mail/wait/{id}") => {
            (Read, format!("/api/mail/wait/{s}?{q}&timeout=1000"), None)
        }
        ("GET", "/api/mail/{id}") => (Read, format!("/api/mail/{}", fx.mail), None),
        ("DELETE", "/api/mail/{id}") => (Write, format!("/api/mail/{}", fx.mail), None),
        ("GET", "/api/team-members") => (Read, format!("/api/team-members?{q}"), None),
        ("POST", "/api/team-members") => (
            Write,
            path.into(),
            Some(json!({"projectId": p, "name": "Bo", "role": "tester", "avatar": "B"})),
        ),
        ("GET", "/api/team-members/{id}") => {
            (Read, format!("/api/team-members/{}?{q}", fx.member), None)
        }
        ("PATCH", "/api/team-members/{id}") => (
            Write,
            format!("/api/team-members/{}?{q}", fx.member),
            Some(json!({"projectId": p, "name": "Ann B"})),
        ),
        ("DELETE", "/api/team-members/{id}") => (
            Write,
            format!("/api/team-members/{}?{q}", fx.archived),
            None,
        ),
        ("POST", "/api/team-members/{id}/archive") => (
            Write,
            format!("/api/team-members/{}/archive?{q}", fx.member),
            Some(json!({"projectId": p})),
        ),
        ("POST", "/api/team-members/{id}/unarchive") => (
            Write,
            format!("/api/team-members/{}/unarchive?{q}", fx.archived),
            Some(json!({"projectId": p})),
        ),
        ("POST", "/api/team-members/{id}/reset") => (
            Write,
            format!("/api/team-members/tm_{p}_simple_worker/reset?{q}"),
            Some(json!({"projectId": p})),
        ),
        _ => panic!("no row in the access matrix for {m} {path}: classify the new route"),
    };
    (class, url, body)
}

async fn run_matrix(adapters: Adapters) {
    let srv = Builder::new(adapters)
        .token(API_TOKEN)
        .users(&USERS)
        .start()
        .await;
    srv.write_skill("sk", "---\nname: Sk\n---\nbody\n");
    let mut failures = Vec::new();
    let mut checked = 0;
    for op in maestro_http::routes::api().operations {
        let path = op.path;
        // Denied callers first, on one fixture: they must not change it; each allowed caller
        // then gets a fresh fixture when the route writes.
        let mut order: Vec<Who> = EVERYONE.to_vec();
        let fx = fixture(&srv).await;
        let (class, _, _) = case(&op.method, path, &fx, Who::Owner);
        order.sort_by_key(|w| expected(class, *w).is_none());
        let mut fx = fx;
        let mut used = false;
        for who in order {
            let allowed = expected(class, who).is_none();
            if allowed && used && op.method != Method::GET {
                fx = fixture(&srv).await;
            }
            let (_, url, body) = case(&op.method, path, &fx, who);
            let token = bearer(&srv, &fx, who);
            let r = srv
                .req_as(
                    Some(token.as_deref().unwrap_or("")),
                    op.method.clone(),
                    &url,
                    body,
                )
                .await;
            checked += 1;
            let ok = match expected(class, who) {
                None => (200..300).contains(&r.status),
                Some(want) => r.status == want,
            };
            if !ok {
                failures.push(format!(
                    "{} {path} as {who:?}: got {} (wanted {}) {}",
                    op.method,
                    r.status,
                    expected(class, who).map_or("2xx".to_string(), |s| s.to_string()),
                    r.body.to_string().chars().take(200).collect::<String>()
                ));
            } else if let Some(status) = expected(class, who) {
                common::assert_error_shape(&r.body);
                let code = r.body["code"].as_str().unwrap_or_default();
                let want = match status {
                    401 => "UNAUTHORIZED",
                    403 => "FORBIDDEN",
                    _ => "NOT_FOUND",
                };
                // Spawn names what is missing in its own codes (`task_not_found`, …).
                let spawn_404 = status == 404 && code.ends_with("_not_found");
                if code != want && !spawn_404 {
                    failures.push(format!(
                        "{} {path} as {who:?}: code {code}, wanted {want}",
                        op.method
                    ));
                }
            } else if class == Class::ReadList
                && matches!(who, Who::NonMember | Who::SessionElsewhere)
                && r.body != json!([])
                && r.body["orderedIds"] != json!([])
            {
                failures.push(format!("{} {path} as {who:?} sees {}", op.method, r.body));
            }
            if allowed {
                used = true;
            }
        }
    }
    assert!(checked > 400, "only {checked} cases ran");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_route_by_every_caller_in_memory() {
    run_matrix(Adapters::Memory).await;
}

#[tokio::test]
async fn every_route_by_every_caller_on_the_filesystem() {
    run_matrix(Adapters::Fs).await;
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
    let p = id(&srv
        .post(
            "/api/projects",
            json!({"name": "K", "workingDir": "/tmp/k"}),
        )
        .await
        .ok(201));
    let other = id(&srv
        .post(
            "/api/projects",
            json!({"name": "L", "workingDir": "/tmp/l"}),
        )
        .await
        .ok(201));
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

/// The official JavaScript client as one /mobile socket, driven line by line.
struct MobileClient {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stdin: tokio::process::ChildStdin,
}

impl MobileClient {
    /// `None` (with a loud message, or a failure under `CI`) when node or the client package
    /// is missing.
    async fn connect(srv: &TestServer, token: &str, project: &str) -> Option<Self> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/socketio");
        if !dir.join("node_modules/socket.io-client").is_dir()
            || std::process::Command::new("node")
                .arg("--version")
                .output()
                .is_err()
        {
            let msg = "node and `npm ci --prefix tests/socketio` are needed for this test";
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("\n!!! SKIPPED: {msg}\n");
            return None;
        }
        let mut child = tokio::process::Command::new("node")
            .arg("mobile-client.mjs")
            .arg(format!("http://{}", srv.addr))
            .arg(token)
            .arg(project)
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        use tokio::io::AsyncBufReadExt;
        let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let stdin = child.stdin.take().unwrap();
        Some(Self {
            child,
            lines,
            stdin,
        })
    }

    /// The next line whose `kind` is one of `kinds` (others are skipped).
    async fn next(&mut self, kinds: &[&str]) -> Value {
        let wait = std::time::Duration::from_secs(10);
        loop {
            let line = tokio::time::timeout(wait, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {kinds:?} from the client within {wait:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("the client exited before {kinds:?}"));
            let v: Value = serde_json::from_str(&line).unwrap();
            if kinds.contains(&v["kind"].as_str().unwrap_or_default()) {
                return v;
            }
        }
    }

    async fn event(&mut self, name: &str) -> Value {
        loop {
            let v = self.next(&["event", "disconnect"]).await;
            assert_eq!(
                v["kind"], "event",
                "disconnected while waiting for {name}: {v}"
            );
            if v["name"] == name {
                return v;
            }
        }
    }

    async fn emit(&mut self, event: &str, data: Value) -> Value {
        use tokio::io::AsyncWriteExt;
        let line = format!("{}\n", json!({"id": 1, "emit": event, "data": data}));
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.next(&["ack"]).await
    }
}

impl Drop for MobileClient {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
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
