//! The access matrix: every REST route of the server's route table × every kind of caller,
//! with the status each must get. Shared by the in-memory/FileSystem run
//! (`crates/maestro-http/tests/roles.rs`) and the Supabase run through the real binary
//! (`apps/maestro-server/tests/supabase_server.rs`), each providing a [`Target`].
//!
//! The table cannot drift from the router: every route the server serves must have a row.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;

use reqwest::Method;
use serde_json::{Value, json};

/// A server under test, with six users (alice, bob, carol, dave, erin, frank) it knows.
pub trait Target: Sync {
    /// A request with `Authorization: Bearer <bearer>`; `None`: without `Authorization`.
    fn send(
        &self,
        bearer: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = Reply> + Send;
    /// The server credential (`MAESTRO_API_TOKEN`).
    fn server_token(&self) -> String;
    /// A valid access token of user `name`.
    fn user_token(&self, name: &str) -> String;
    fn user_id(&self, name: &str) -> String;
    fn user_email(&self, name: &str) -> String;
    /// The session token the server would give the agent of `session` in `project`.
    fn mint(&self, session: &str, project: &str) -> String;
    /// Tells this server apart from others in the same test binary.
    fn name(&self) -> String;

    /// A request with the server credential.
    fn post(&self, path: &str, body: Value) -> impl Future<Output = Reply> + Send {
        let token = self.server_token();
        let path = path.to_string();
        async move {
            self.send(Some(&token), Method::POST, &path, Some(body))
                .await
        }
    }

    fn patch(&self, path: &str, body: Value) -> impl Future<Output = Reply> + Send {
        let token = self.server_token();
        let path = path.to_string();
        async move {
            self.send(Some(&token), Method::PATCH, &path, Some(body))
                .await
        }
    }

    fn task(&self, project_id: &str, title: &str) -> impl Future<Output = Value> + Send {
        let body = json!({"projectId": project_id, "title": title});
        async move { self.post("/api/tasks", body).await.ok(201) }
    }

    fn session(&self, project_id: &str, task_ids: &[&str]) -> impl Future<Output = Value> + Send {
        let body = json!({"projectId": project_id, "taskIds": task_ids, "name": "worker",
                          "status": "working"});
        async move { self.post("/api/sessions", body).await.ok(201) }
    }
}

/// A JSON answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn ok(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
}

/// `{error: true, code, message}`.
pub fn assert_error_shape(body: &Value) {
    assert_eq!(body["error"], true, "error must be true: {body}");
    assert!(body["code"].is_string(), "code must be a string: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message must be a non-empty string: {body}"
    );
}

/// The `id` of a created record.
pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
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

pub const EVERYONE: [Who; 12] = [
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
pub enum Class {
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
pub fn expected(class: Class, who: Who) -> Option<u16> {
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
pub struct Fixture {
    pub p: String,
    pub e: String,
    pub t: String,
    pub t2: String,
    pub s: String,
    pub ended: String,
    pub mail: String,
    pub member: String,
    pub archived: String,
    pub other_session: String,
    pub other_project: String,
    /// API keys: of P, of Q, of P but revoked; `spare` (of P) is the one owners revoke.
    pub key_here: String,
    pub key_elsewhere: String,
    pub key_revoked: String,
    pub spare_key: String,
    /// Erin's user id (a viewer of P whose role and membership the member routes change).
    pub erin: String,
    /// Frank's email (not on any project: owners add him by email).
    pub frank_email: String,
}

/// Creates an API key of `project` as `owner`; returns `(id, key)`.
pub async fn api_key(srv: &impl Target, owner: &str, project: &str) -> (String, String) {
    let k = srv
        .send(
            Some(&srv.user_token(owner)),
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
async fn revoked_key(srv: &impl Target, project: &str) -> String {
    static REVOKED: std::sync::Mutex<BTreeMap<String, String>> =
        std::sync::Mutex::new(BTreeMap::new());
    let server = srv.name();
    if let Some(k) = REVOKED.lock().unwrap().get(&server) {
        return k.clone();
    }
    let (id, key) = api_key(srv, "alice", project).await;
    srv.send(
        Some(&srv.user_token("alice")),
        Method::DELETE,
        &format!("/api/projects/{project}/api-keys/{id}"),
        None,
    )
    .await
    .ok(200);
    REVOKED.lock().unwrap().insert(server, key.clone());
    key
}

pub async fn fixture(srv: &impl Target) -> Fixture {
    let alice = srv.user_token("alice");
    let mut projects = Vec::new();
    for name in ["P", "E"] {
        let p = srv
            .send(
                Some(&alice),
                Method::POST,
                "/api/projects",
                Some(json!({"name": name, "workingDir": "/tmp/rbac"})),
            )
            .await
            .ok(201);
        let pid = id(&p);
        for (user, role) in [("bob", "viewer"), ("carol", "editor"), ("erin", "viewer")] {
            srv.send(
                Some(&alice),
                Method::POST,
                &format!("/api/projects/{pid}/members"),
                Some(json!({"userId": srv.user_id(user), "role": role})),
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
    // `s` holds `t`'s claim, so that its release and renewal can be tried.
    srv.send(
        Some(&alice),
        Method::POST,
        &format!("/api/tasks/{t}/claim"),
        Some(json!({"sessionId": s})),
    )
    .await
    .ok(200);
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
        .send(
            Some(&srv.user_token("dave")),
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
        erin: srv.user_id("erin"),
        frank_email: srv.user_email("frank"),
    }
}

pub fn bearer(srv: &impl Target, fx: &Fixture, who: Who) -> Option<String> {
    let mint = |s: &str, p: &str| srv.mint(s, p);
    match who {
        Who::NoToken => None,
        Who::BadToken => Some("test-user-token:mallory".into()),
        Who::NonMember => Some(srv.user_token("dave")),
        Who::Viewer => Some(srv.user_token("bob")),
        Who::Editor => Some(srv.user_token("carol")),
        Who::Owner => Some(srv.user_token("alice")),
        Who::SessionHere => Some(mint(&fx.s, &fx.p)),
        Who::SessionElsewhere => Some(mint(&fx.other_session, &fx.other_project)),
        Who::SessionEnded => Some(mint(&fx.ended, &fx.p)),
        Who::KeyHere => Some(fx.key_here.clone()),
        Who::KeyElsewhere => Some(fx.key_elsewhere.clone()),
        Who::KeyRevoked => Some(fx.key_revoked.clone()),
    }
}

/// The class of a route and the request that exercises it on `fx`.
pub fn case(method: &Method, path: &str, fx: &Fixture, who: Who) -> (Class, String, Option<Value>) {
    use Class::*;
    let (p, t, s) = (&fx.p, &fx.t, &fx.s);
    let q = format!("projectId={p}");
    let m = method.as_str();
    let (class, url, body): (Class, String, Option<Value>) = match (m, path) {
        ("GET", "/health" | "/health/live" | "/health/ready") | ("GET", "/api/auth/config") => {
            (Public, path.into(), None)
        }
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
        // Every caller manages their own devices (what each hears is decided per push).
        ("GET", "/api/push/subscriptions") => (Authenticated, path.into(), None),
        // Every caller reads the person's inbox over the projects it may read.
        ("GET", "/api/inbox") => (Authenticated, path.into(), None),
        ("POST", "/api/push/subscriptions") => (
            Authenticated,
            path.into(),
            Some(json!({
                "endpoint": "https://push.invalid/matrix",
                "keys": {"p256dh": format!("BA{}", "A".repeat(85)), "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
            })),
        ),
        ("DELETE", "/api/push/subscriptions") => (
            Authenticated,
            "/api/push/subscriptions?endpoint=https%3A%2F%2Fpush.invalid%2Fmatrix".into(),
            None,
        ),
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
            Some(json!({"email": fx.frank_email, "role": "viewer"})),
        ),
        ("PATCH", "/api/projects/{id}/members/{user_id}") => (
            MembersWrite,
            format!("/api/projects/{p}/members/{}", fx.erin),
            Some(json!({"role": "editor"})),
        ),
        ("DELETE", "/api/projects/{id}/members/{user_id}") => (
            MembersWrite,
            format!("/api/projects/{p}/members/{}", fx.erin),
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
        ("POST", "/api/tasks/{id}/claim") => (
            Write,
            format!("/api/tasks/{t}/claim"),
            Some(json!({"sessionId": s})),
        ),
        ("DELETE", "/api/tasks/{id}/claim") => {
            (Write, format!("/api/tasks/{t}/claim?sessionId={s}"), None)
        }
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
        ("POST", "/api/sessions/{id}/reply") => (
            Write,
            format!("/api/sessions/{s}/reply"),
            Some(json!({"message": "ok"})),
        ),
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

/// Runs every route of the server's route table as every caller against `srv`; panics with
/// every mismatch.
pub async fn run_matrix(srv: &impl Target) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for op in maestro_http::routes::api().operations {
        let path = op.path;
        // Denied callers first, on one fixture: they must not change it; each allowed caller
        // then gets a fresh fixture when the route writes.
        let mut order: Vec<Who> = EVERYONE.to_vec();
        let fx = fixture(srv).await;
        let (class, _, _) = case(&op.method, path, &fx, Who::Owner);
        order.sort_by_key(|w| expected(class, *w).is_none());
        let mut fx = fx;
        let mut used = false;
        for who in order {
            let allowed = expected(class, who).is_none();
            if allowed && used && op.method != Method::GET {
                fx = fixture(srv).await;
            }
            let (_, url, body) = case(&op.method, path, &fx, who);
            let token = bearer(srv, &fx, who);
            let r = srv
                .send(token.as_deref(), op.method.clone(), &url, body)
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
                assert_error_shape(&r.body);
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
                && matches!(
                    who,
                    Who::NonMember | Who::SessionElsewhere | Who::KeyElsewhere
                )
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
