//! Input tolerance (API.md §1) and the bad-input table of issue 4: for every route with a body or
//! a query, malformed JSON, wrong types, unknown enum values, oversized bodies, non-JSON content
//! and path-traversal ids are answered 4xx with `{error: true, code, message}` — never 5xx —
//! and the server keeps answering. Runs on the in-memory and the FileSystem adapters.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Adapters, BODY_LIMIT, RawResp, TestServer, assert_error_shape, id};
use serde_json::{Value, json};

macro_rules! both_adapters {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::TestServer::start(super::Adapters::Memory).await).await;
                }
            )+
        }
        mod fs {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::TestServer::start(super::Adapters::Fs).await).await;
                }
            )+
        }
    };
}

both_adapters!(
    paths_are_case_insensitive_with_trailing_slash,
    missing_body_is_an_empty_object,
    unknown_keys_ignored_outside_mail,
    malformed_bodies_table,
    path_traversal_ids_table,
    bad_query_table,
    unknown_routes_and_methods,
);

/// Ids every table row can refer to.
struct Fixture {
    pid: String,
    tid: String,
    sid: String,
    mid: String,
    mail: String,
}

async fn fixture(s: &TestServer) -> Fixture {
    let (pid, tid, sid) = s.basics().await;
    s.post(
        &format!("/api/sessions/{sid}/modal"),
        json!({"modalId": "m1", "html": "<p/>"}),
    )
    .await
    .ok(200);
    let mid = id(&s
        .post(
            "/api/team-members",
            json!({"projectId": pid, "name": "N", "role": "R", "avatar": "A"}),
        )
        .await
        .ok(201));
    let mail = id(&s
        .post(
            "/api/mail",
            json!({"projectId": pid, "fromSessionId": sid, "type": "query", "subject": "s"}),
        )
        .await
        .ok(201));
    s.write_skill("sk", "---\nname: Sk\n---\nbody\n");
    s.take_events();
    Fixture {
        pid,
        tid,
        sid,
        mid,
        mail,
    }
}

impl Fixture {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{pid}", &self.pid)
            .replace("{tid}", &self.tid)
            .replace("{sid}", &self.sid)
            .replace("{mid}", &self.mid)
            .replace("{mail}", &self.mail)
    }
}

#[track_caller]
fn assert_client_error(r: &RawResp, what: &str) -> Value {
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected 4xx, got {}\n{}\n{}",
        r.status,
        r.head,
        String::from_utf8_lossy(&r.body)
    );
    let body = r.json();
    assert_error_shape(&body);
    body
}

// ---- tolerance -------------------------------------------------------------------------------

async fn paths_are_case_insensitive_with_trailing_slash(s: &TestServer) {
    let p = s.project("Case").await;
    let pid = id(&p);
    let list = s.get("/API/Projects/").await.ok(200);
    assert_eq!(list, json!([p.clone()]));
    // Route words fold, ids keep their case.
    assert_eq!(s.get(&format!("/Api/PROJECTS/{pid}/")).await.ok(200), p);
    s.get(&format!("/api/projects/{}", pid.to_uppercase()))
        .await
        .err(404, "NOT_FOUND");
    let t = s
        .post("/API/TASKS/", json!({"projectId": pid, "title": "T"}))
        .await
        .ok(201);
    assert_eq!(
        s.get(&format!("/api/Tasks/{}/Children/", id(&t)))
            .await
            .ok(200),
        json!([])
    );
    assert_eq!(s.get("/HEALTH").await.ok(200)["status"], "ok");
    assert_eq!(
        s.get("/api/Workflow-Templates/execute-simple/")
            .await
            .ok(200)["id"],
        "execute-simple"
    );
    // Query strings survive the rewrite.
    let r = s
        .get(&format!("/API/Tasks/?projectId={pid}&status=todo"))
        .await
        .ok(200);
    assert_eq!(r.as_array().unwrap().len(), 1);
}

async fn missing_body_is_an_empty_object(s: &TestServer) {
    let (_pid, tid, sid) = s.basics().await;
    // No body and no content type: treated as `{}` → the handler's own validation.
    let e = s
        .post_empty("/api/projects")
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Project name is required");
    let t = s
        .req(reqwest::Method::PATCH, &format!("/api/tasks/{tid}"), None)
        .await;
    assert_eq!(t.ok(200)["id"], tid.as_str());
    s.post(
        &format!("/api/sessions/{sid}/modal"),
        json!({"modalId": "m1", "html": "<p/>"}),
    )
    .await
    .ok(200);
    s.post_empty(&format!("/api/sessions/{sid}/modal/m1/close"))
        .await
        .ok(200);
    s.post_empty(&format!("/api/sessions/{sid}/events"))
        .await
        .err(400, "VALIDATION_ERROR");
    // Empty body with a JSON content type, and whitespace only.
    let r = s
        .raw_json("POST", "/api/projects", Some("application/json"), b"")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "Project name is required");
    let r = s
        .raw_json(
            "PATCH",
            &format!("/api/tasks/{tid}"),
            Some("application/json"),
            b"  \n ",
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Mail is strict: an empty body lacks the required fields (E3, details).
    let e = s.post_empty("/api/mail").await.err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Invalid request body");
    assert!(e["details"].as_array().is_some_and(|d| !d.is_empty()));
}

async fn unknown_keys_ignored_outside_mail(s: &TestServer) {
    let (pid, tid, sid) = s.basics().await;
    let p = s
        .post(
            "/api/projects",
            json!({"name": "X", "createdAt": 1, "updatedAt": 2, "whatever": {"deep": true}}),
        )
        .await
        .ok(201);
    assert!(p.get("whatever").is_none());
    s.post(
        "/api/tasks",
        json!({"projectId": pid, "title": "T", "model": "opus", "acceptance": [1]}),
    )
    .await
    .ok(201);
    s.patch(
        &format!("/api/sessions/{sid}"),
        json!({"status": "working", "completedAt": 123, "name": "x", "foo": null}),
    )
    .await
    .ok(200);
    s.patch(
        &format!("/api/tasks/{tid}"),
        json!({"title": "T2", "dependencies": ["x"], "bar": 1}),
    )
    .await
    .ok(200);
    s.post(
        "/api/team-members",
        json!({"projectId": pid, "name": "N", "role": "R", "avatar": "A", "strategy": "x", "nope": 1}),
    )
    .await
    .ok(201);
    s.put(
        &format!("/api/ordering/task/{pid}"),
        json!({"orderedIds": [], "extra": 1}),
    )
    .await
    .ok(200);
    // Mail rejects unknown keys with details naming the key.
    let e = s
        .post(
            "/api/mail",
            json!({"projectId": pid, "fromSessionId": sid, "type": "query", "subject": "s", "priority": "high"}),
        )
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Invalid request body");
    let details = e["details"].as_array().unwrap();
    assert!(!details.is_empty());
    assert!(
        details[0]["message"].as_str().unwrap().contains("priority"),
        "{e}"
    );
    assert!(details[0]["path"].is_string());
}

// ---- bad bodies ------------------------------------------------------------------------------

/// (method, path template, wrong-type body, unknown-enum body)
fn body_routes() -> Vec<(&'static str, &'static str, Value, Option<Value>)> {
    vec![
        ("POST", "/api/projects", json!({"name": 5}), None),
        (
            "PUT",
            "/api/projects/{pid}",
            json!({"workingDir": []}),
            None,
        ),
        (
            "POST",
            "/api/tasks",
            json!({"projectId": "{pid}", "title": ["x"]}),
            // Priority is open on the wire (issue 11), but never empty.
            Some(json!({"projectId": "{pid}", "title": "x", "priority": ""})),
        ),
        (
            "PATCH",
            "/api/tasks/{tid}",
            json!({"pinned": "yes"}),
            Some(json!({"status": "done"})),
        ),
        (
            "PATCH",
            "/api/tasks/{tid}",
            json!({"taskSessionStatuses": {"{sid}": 3}}),
            Some(json!({"updateSource": "robot"})),
        ),
        (
            "PATCH",
            "/api/tasks/{tid}",
            json!({"sessionIds": "{sid}"}),
            Some(
                json!({"updateSource": "session", "sessionId": "{sid}", "sessionStatus": "sleeping"}),
            ),
        ),
        (
            "POST",
            "/api/tasks/{tid}/timeline",
            json!({"message": 1, "sessionId": "{sid}"}),
            None,
        ),
        (
            "POST",
            "/api/sessions",
            json!({"projectId": "{pid}", "taskIds": "{tid}"}),
            Some(json!({"projectId": "{pid}", "taskIds": ["{tid}"], "status": "zombie"})),
        ),
        (
            "PATCH",
            "/api/sessions/{sid}",
            json!({"env": {"A": 1}}),
            Some(json!({"status": "zombie"})),
        ),
        (
            "PATCH",
            "/api/sessions/{sid}",
            json!({"needsInput": {"active": "yes"}}),
            None,
        ),
        (
            "PATCH",
            "/api/sessions/{sid}",
            json!({"events": [{"type": 5}]}),
            None,
        ),
        (
            "PATCH",
            "/api/sessions/{sid}",
            json!({"timeline": ["not an object"]}),
            None,
        ),
        (
            "POST",
            "/api/sessions/{sid}/events",
            json!({"type": 7}),
            None,
        ),
        (
            "POST",
            "/api/sessions/{sid}/timeline",
            json!({"message": {"a": 1}}),
            None,
        ),
        (
            "POST",
            "/api/sessions/{sid}/docs",
            json!({"title": 1, "filePath": "x"}),
            None,
        ),
        (
            "POST",
            "/api/sessions/{sid}/modal",
            json!({"modalId": 1, "html": "x"}),
            None,
        ),
        (
            "POST",
            "/api/sessions/{sid}/modal/m1/actions",
            json!({"action": 1}),
            None,
        ),
        (
            "POST",
            "/api/sessions/spawn",
            json!({"projectId": 5, "taskIds": ["{tid}"]}),
            Some(json!({"projectId": "{pid}", "taskIds": ["{tid}"], "mode": "turbo"})),
        ),
        (
            "POST",
            "/api/sessions/spawn",
            json!({"projectId": "{pid}", "taskIds": [1, 2]}),
            Some(json!({"projectId": "{pid}", "taskIds": ["{tid}"], "agentTool": "vim"})),
        ),
        (
            "POST",
            "/api/mail",
            json!({"projectId": 1, "fromSessionId": "{sid}", "type": "query", "subject": "s"}),
            Some(
                json!({"projectId": "{pid}", "fromSessionId": "{sid}", "type": "gossip", "subject": "s"}),
            ),
        ),
        (
            "PUT",
            "/api/ordering/task/{pid}",
            json!({"orderedIds": "a,b"}),
            None,
        ),
        (
            "POST",
            "/api/team-members",
            json!({"projectId": "{pid}", "name": 1, "role": "r", "avatar": "a"}),
            Some(
                json!({"projectId": "{pid}", "name": "n", "role": "r", "avatar": "a", "agentTool": "vim"}),
            ),
        ),
        (
            "POST",
            "/api/team-members",
            json!({"projectId": "{pid}", "name": "n", "role": "r", "avatar": "a", "capabilities": 5}),
            Some(
                json!({"projectId": "{pid}", "name": "n", "role": "r", "avatar": "a", "mode": "chaos"}),
            ),
        ),
        (
            "PATCH",
            "/api/team-members/{mid}",
            json!({"projectId": "{pid}", "skillIds": "a"}),
            Some(json!({"projectId": "{pid}", "status": "retired"})),
        ),
        (
            "POST",
            "/api/team-members/{mid}/archive",
            json!({"projectId": 5}),
            None,
        ),
        (
            "POST",
            "/api/team-members/{mid}/unarchive",
            json!({"projectId": [5]}),
            None,
        ),
        (
            "POST",
            "/api/team-members/{mid}/reset",
            json!({"projectId": {}}),
            None,
        ),
    ]
}

/// Replaces `{pid}`-style placeholders inside a JSON body.
fn fill_body(f: &Fixture, v: &Value) -> Vec<u8> {
    f.fill(&v.to_string()).into_bytes()
}

async fn malformed_bodies_table(s: &TestServer) {
    let f = fixture(s).await;
    let projects_before = s.get("/api/projects").await.ok(200);
    let sessions_before = s.get("/api/sessions").await.ok(200);
    let too_big = {
        let mut b = br#"{"name":""#.to_vec();
        b.extend(std::iter::repeat_n(b'x', BODY_LIMIT + 1));
        b.extend_from_slice(br#""}"#);
        b
    };
    for (method, template, wrong_type, bad_enum) in body_routes() {
        let path = f.fill(template);
        let what = |case: &str| format!("{method} {template} [{case}]");
        let json = Some("application/json");

        for (case, body) in [
            ("malformed", &b"{\"a\":"[..]),
            ("not json", &b"hello"[..]),
            ("trailing garbage", &b"{} {}"[..]),
            ("top-level array", &b"[1,2]"[..]),
            ("top-level string", &b"\"str\""[..]),
            ("null", &b"null"[..]),
        ] {
            let r = s.raw_json(method, &path, json, body).await;
            let e = assert_client_error(&r, &what(case));
            assert_eq!(r.status, 400, "{}: {e}", what(case));
        }

        let r = s
            .raw_json(method, &path, json, &fill_body(&f, &wrong_type))
            .await;
        let e = assert_client_error(&r, &what("wrong type"));
        assert_eq!(r.status, 400, "{}: {e}", what("wrong type"));

        if let Some(bad) = &bad_enum {
            let r = s.raw_json(method, &path, json, &fill_body(&f, bad)).await;
            let e = assert_client_error(&r, &what("unknown enum"));
            assert_eq!(r.status, 400, "{}: {e}", what("unknown enum"));
        }

        let r = s.raw_json(method, &path, json, &too_big).await;
        let e = assert_client_error(&r, &what("too large"));
        assert_eq!(r.status, 413, "{}: {e}", what("too large"));
        assert_eq!(e["code"], "PAYLOAD_TOO_LARGE");

        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            let r = s
                .raw_json(method, &path, Some(ct), br#"{"name":"x"}"#)
                .await;
            let e = assert_client_error(&r, &what(ct));
            assert_eq!(r.status, 415, "{}: {e}", what(ct));
            assert_eq!(e["code"], "UNSUPPORTED_MEDIA_TYPE");
        }
    }
    // Nothing was created by any of it, and the server still answers.
    assert_eq!(s.get("/health").await.ok(200)["status"], "ok");
    assert_eq!(s.get("/api/projects").await.ok(200), projects_before);
    assert_eq!(s.get("/api/sessions").await.ok(200), sessions_before);
    assert!(s.session_dir_entries().is_empty());
    // `+json` content types are JSON.
    let r = s
        .raw_json(
            "POST",
            "/api/projects",
            Some("application/vnd.api+json; charset=utf-8"),
            br#"{"name":"vnd"}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
}

// ---- path traversal --------------------------------------------------------------------------

/// (method, path template with `{x}` marking the parameter under test, body)
fn id_routes() -> Vec<(&'static str, &'static str, Value)> {
    let empty = json!({});
    vec![
        ("GET", "/api/projects/{x}", empty.clone()),
        ("PUT", "/api/projects/{x}", json!({"name": "n"})),
        ("DELETE", "/api/projects/{x}", empty.clone()),
        ("GET", "/api/tasks/{x}", empty.clone()),
        ("PATCH", "/api/tasks/{x}", json!({"title": "t"})),
        ("DELETE", "/api/tasks/{x}", empty.clone()),
        (
            "POST",
            "/api/tasks/{x}/timeline",
            json!({"message": "m", "sessionId": "{sid}"}),
        ),
        (
            "POST",
            "/api/tasks/{tid}/timeline",
            json!({"message": "m", "sessionId": "{x}"}),
        ),
        ("GET", "/api/tasks/{x}/docs", empty.clone()),
        ("GET", "/api/tasks/{x}/children", empty.clone()),
        (
            "POST",
            "/api/tasks",
            json!({"projectId": "{pid}", "title": "t", "parentId": "{x}"}),
        ),
        (
            "POST",
            "/api/tasks",
            json!({"projectId": "{x}", "title": "t"}),
        ),
        (
            "POST",
            "/api/sessions",
            json!({"projectId": "{pid}", "taskIds": ["{tid}"], "id": "{x}"}),
        ),
        (
            "POST",
            "/api/sessions",
            json!({"projectId": "{x}", "taskIds": ["{tid}"]}),
        ),
        (
            "POST",
            "/api/sessions",
            json!({"projectId": "{pid}", "taskIds": ["{x}"]}),
        ),
        ("GET", "/api/sessions/{x}", empty.clone()),
        ("PATCH", "/api/sessions/{x}", json!({"status": "working"})),
        ("DELETE", "/api/sessions/{x}", empty.clone()),
        ("POST", "/api/sessions/{x}/events", json!({"type": "t"})),
        (
            "POST",
            "/api/sessions/{x}/timeline",
            json!({"message": "m"}),
        ),
        (
            "POST",
            "/api/sessions/{x}/docs",
            json!({"title": "t", "filePath": "f"}),
        ),
        ("GET", "/api/sessions/{x}/docs", empty.clone()),
        ("POST", "/api/sessions/{x}/tasks/{tid}", empty.clone()),
        ("POST", "/api/sessions/{sid}/tasks/{x}", empty.clone()),
        ("DELETE", "/api/sessions/{x}/tasks/{tid}", empty.clone()),
        ("DELETE", "/api/sessions/{sid}/tasks/{x}", empty.clone()),
        (
            "POST",
            "/api/sessions/{x}/modal",
            json!({"modalId": "m9", "html": "<p/>"}),
        ),
        (
            "POST",
            "/api/sessions/{sid}/modal",
            json!({"modalId": "{x}", "html": "<p/>"}),
        ),
        (
            "POST",
            "/api/sessions/{x}/modal/m1/actions",
            json!({"action": "a"}),
        ),
        (
            "POST",
            "/api/sessions/{sid}/modal/{x}/actions",
            json!({"action": "a"}),
        ),
        ("POST", "/api/sessions/{x}/modal/m1/close", empty.clone()),
        ("POST", "/api/sessions/{sid}/modal/{x}/close", empty.clone()),
        ("POST", "/api/sessions/{x}/heartbeat", empty.clone()),
        (
            "POST",
            "/api/sessions/spawn",
            json!({"projectId": "{x}", "taskIds": ["{tid}"]}),
        ),
        (
            "POST",
            "/api/sessions/spawn",
            json!({"projectId": "{pid}", "taskIds": ["{x}"]}),
        ),
        (
            "POST",
            "/api/sessions/spawn",
            json!({"projectId": "{pid}", "taskIds": ["{tid}"], "spawnSource": "session", "sessionId": "{x}"}),
        ),
        (
            "POST",
            "/api/sessions/spawn",
            json!({"projectId": "{pid}", "taskIds": ["{tid}"], "teamMemberId": "{x}"}),
        ),
        (
            "POST",
            "/api/mail",
            json!({"projectId": "{pid}", "fromSessionId": "{x}", "type": "query", "subject": "s"}),
        ),
        (
            "POST",
            "/api/mail",
            json!({"projectId": "{pid}", "fromSessionId": "{sid}", "toTeamMemberId": "{x}", "type": "query", "subject": "s"}),
        ),
        ("GET", "/api/mail/inbox/{x}?projectId={pid}", empty.clone()),
        ("GET", "/api/mail/inbox/{sid}?projectId={x}", empty.clone()),
        (
            "GET",
            "/api/mail/wait/{sid}?projectId={x}&timeout=1000",
            empty.clone(),
        ),
        (
            "GET",
            "/api/mail/wait/{x}?projectId={pid}&timeout=1000",
            empty.clone(),
        ),
        ("GET", "/api/mail/{x}", empty.clone()),
        ("DELETE", "/api/mail/{x}", empty.clone()),
        ("GET", "/api/skills/{x}", empty.clone()),
        ("POST", "/api/skills/{x}/reload", empty.clone()),
        ("GET", "/api/skills/mode/{x}", empty.clone()),
        ("GET", "/api/ordering/task/{x}", empty.clone()),
        (
            "PUT",
            "/api/ordering/task/{x}",
            json!({"orderedIds": ["a"]}),
        ),
        ("GET", "/api/ordering/{x}/{pid}", empty.clone()),
        ("GET", "/api/team-members?projectId={x}", empty.clone()),
        (
            "GET",
            "/api/team-members/{x}?projectId={pid}",
            empty.clone(),
        ),
        (
            "GET",
            "/api/team-members/{mid}?projectId={x}",
            empty.clone(),
        ),
        (
            "PATCH",
            "/api/team-members/{x}",
            json!({"projectId": "{pid}", "name": "n"}),
        ),
        (
            "PATCH",
            "/api/team-members/{mid}",
            json!({"projectId": "{x}", "name": "n"}),
        ),
        (
            "DELETE",
            "/api/team-members/{x}?projectId={pid}",
            empty.clone(),
        ),
        (
            "DELETE",
            "/api/team-members/{mid}?projectId={x}",
            empty.clone(),
        ),
        (
            "POST",
            "/api/team-members",
            json!({"projectId": "{x}", "name": "n", "role": "r", "avatar": "a"}),
        ),
        (
            "POST",
            "/api/team-members/{x}/archive",
            json!({"projectId": "{pid}"}),
        ),
        (
            "POST",
            "/api/team-members/{mid}/archive",
            json!({"projectId": "{x}"}),
        ),
        (
            "POST",
            "/api/team-members/{x}/unarchive",
            json!({"projectId": "{pid}"}),
        ),
        (
            "POST",
            "/api/team-members/{x}/reset",
            json!({"projectId": "{pid}"}),
        ),
        (
            "POST",
            "/api/team-members/tm_{pid}_simple_worker/reset",
            json!({"projectId": "{x}"}),
        ),
        ("GET", "/api/workflow-templates/{x}", empty.clone()),
    ]
}

/// Hostile ids, as sent on the wire in a path or query (percent-encoded) and as the decoded
/// string put into a JSON body.
fn hostile_ids() -> Vec<(String, String)> {
    let long = "a".repeat(200);
    vec![
        ("..%2F..".into(), "../..".into()),
        (
            "..%2F..%2F..%2Fetc%2Fpasswd".into(),
            "../../../etc/passwd".into(),
        ),
        ("%2e%2e".into(), "..".into()),
        ("%2E%2E%2f%2e%2e".into(), "../..".into()),
        ("..".into(), "..".into()),
        ("%2Ftmp%2Fx".into(), "/tmp/x".into()),
        ("a%00b".into(), "a\u{0}b".into()),
        ("a%20b".into(), "a b".into()),
        ("%FF%FE".into(), "\u{fffd}".into()),
        (long.clone(), long),
    ]
}

async fn path_traversal_ids_table(s: &TestServer) {
    let f = fixture(s).await;
    let mut checked = 0;
    for (method, template, body) in id_routes() {
        for (wire, decoded) in hostile_ids() {
            let path = f.fill(&template.replace("{x}", &wire));
            let body_bytes = f
                .fill(
                    &body
                        .to_string()
                        .replace("\"{x}\"", &serde_json::to_string(&decoded).unwrap()),
                )
                .into_bytes();
            let (body_bytes, ct) = if method == "GET" || method == "DELETE" {
                (Vec::new(), None)
            } else {
                (body_bytes, Some("application/json"))
            };
            let r = s.raw_json(method, &path, ct, &body_bytes).await;
            let what = format!("{method} {template} with {wire:?}");
            assert!(
                (400..500).contains(&r.status),
                "{what}: expected 4xx, got {}\n{}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            let e = r.json();
            assert_error_shape(&e);
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked}");
    assert_eq!(s.get("/health").await.ok(200)["status"], "ok");
    // Nothing escaped the server's directories.
    let root = s.data_dir.parent().unwrap();
    let mut top: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["data", "sessions", "skills"]);
    assert!(s.session_dir_entries().is_empty());
    assert!(!std::path::Path::new("/tmp/x.json").exists());
    // The fixture records are intact.
    s.get(&format!("/api/projects/{}", f.pid)).await.ok(200);
    s.get(&format!("/api/sessions/{}", f.sid)).await.ok(200);
}

// ---- queries ---------------------------------------------------------------------------------

async fn bad_query_table(s: &TestServer) {
    let f = fixture(s).await;
    let cases = [
        "/api/tasks?status=done",
        "/api/tasks?status=TODO",
        "/api/sessions?status=zombie",
        "/api/mail/inbox/{sid}?projectId={pid}&type=gossip",
        "/api/mail/inbox/{sid}?projectId={pid}&since=yesterday",
        "/api/mail/inbox/{sid}?projectId={pid}&unknown=1",
        "/api/mail/wait/{sid}?projectId={pid}&timeout=5",
        "/api/mail/wait/{sid}?projectId={pid}&timeout=NaN",
        "/api/mail/wait/{sid}?projectId={pid}&timeout=1e400",
        "/api/mail/wait/{sid}?projectId={pid}&since=x",
        "/api/team-members",
        "/api/team-members?projectId=",
        "/api/team-members?projectId=a/b",
        "/api/team-members/{mid}",
        "/api/skills/mode/EXECUTE",
        "/api/ordering/tasks/{pid}",
    ];
    for c in cases {
        let path = f.fill(c);
        let r = s.raw_json("GET", &path, None, b"").await;
        let e = assert_client_error(&r, &path);
        assert_eq!(r.status, 400, "{path}: {e}");
        assert_eq!(e["code"], "VALIDATION_ERROR", "{path}");
    }
    // Tolerated: unknown keys outside mail, empty values, unknown template mode.
    for ok in [
        "/api/tasks?foo=bar",
        "/api/tasks?projectId=%FF",
        "/api/tasks?projectId=a%ZZ",
        "/api/tasks?status=",
        "/api/sessions?active=maybe",
        "/api/sessions?projectId=&taskId=",
        "/api/workflow-templates?mode=whatever",
        "/api/mail/inbox/{sid}?projectId={pid}&since=",
    ] {
        let path = f.fill(ok);
        let r = s.raw_json("GET", &path, None, b"").await;
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.json().is_array(), "{path}");
    }
    assert_eq!(s.get("/health").await.ok(200)["status"], "ok");
}

async fn unknown_routes_and_methods(s: &TestServer) {
    let f = fixture(s).await;
    for (method, path) in [
        ("GET", "/api/nope"),
        ("GET", "/api"),
        ("GET", "/api/tasks/a/b/c"),
        ("POST", "/api/sessions/{sid}"),
        ("PUT", "/api/tasks/{tid}"),
        ("GET", "/api/sessions/spawn"),
        ("DELETE", "/api/projects"),
        ("PATCH", "/health"),
        ("GET", "/api/mail"),
        ("GET", "/api/tasks/../../etc/passwd"),
    ] {
        let path = f.fill(path);
        let r = s.raw_json(method, &path, None, b"").await;
        let e = assert_client_error(&r, &format!("{method} {path}"));
        assert_eq!(r.status, 404, "{method} {path}: {e}");
        assert_eq!(e["code"], "NOT_FOUND");
    }
    // HTTP-level garbage never takes the server down.
    let r = s
        .raw(b"GET /api/projects HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nConnection: close\r\n\r\n")
        .await;
    assert!((400..500).contains(&r.status), "{}", r.status);
    assert_eq!(s.get("/health").await.ok(200)["status"], "ok");
}
