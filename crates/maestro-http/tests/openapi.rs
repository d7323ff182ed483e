//! The OpenAPI document is complete and true:
//! - every operation documents its success answer, every write its body, ids are unique;
//! - the document is valid OpenAPI 3.1, every schema compiles (JSON Schema 2020-12), and real
//!   requests and answers of a scripted workload over every route family match the documented
//!   schemas (`tests/socketio/openapi-check.mjs`: @seriousme/openapi-schema-validator + Ajv).
//!
//! The second test needs `node` and `npm ci --prefix tests/socketio`; without them it fails
//! when `CI` is set and is skipped with a loud message otherwise.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use common::{Adapters, Builder, TestServer, user_token};
use reqwest::Method;
use serde_json::{Value, json};

const API_TOKEN: &str = "openapi-test-token-4f0e9d8c7b6a5f4e3d2c1b0a";

#[test]
fn every_operation_documents_its_answer_and_body() {
    let ops = maestro_http::routes::api().operations;
    // Writes that take no body.
    let bodiless: BTreeSet<&str> = [
        "POST /api/sessions/{id}/heartbeat",
        "POST /api/sessions/{id}/tasks/{task_id}",
        "POST /api/sessions/{id}/modal/{modal_id}/close",
        "POST /api/skills/{id}/reload",
    ]
    .into();
    let mut ids = BTreeSet::new();
    let doc = maestro_http::openapi::document(&ops);
    for op in &ops {
        let name = format!("{} {}", op.method, op.path);
        assert!(op.ok.is_some(), "{name}: no documented answer");
        let writes = matches!(op.method.as_str(), "POST" | "PUT" | "PATCH");
        assert_eq!(
            op.body.is_some(),
            writes && !bodiless.contains(name.as_str()),
            "{name}: request body documented wrongly"
        );
        let entry = &doc["paths"][op.path][op.method.as_str().to_ascii_lowercase()];
        let id = entry["operationId"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "duplicate operationId {id}");
    }
    // Open enums are marked so.
    let open = &doc["components"]["schemas"]["OpenTaskStatus"];
    assert_eq!(open["x-open-enum"], true, "{open}");
    // Error answers are the spec's shape.
    let error = &doc["components"]["schemas"]["ErrorBody"]["properties"];
    for key in ["error", "statusCode", "code", "message", "details"] {
        assert!(error.get(key).is_some(), "ErrorBody lacks {key}");
    }
}

/// Requests and answers as they went over the wire, for the checker.
struct Recorder<'a> {
    srv: &'a TestServer,
    /// `None`: the server's API token; `Some(jwt)`: a signed-in user.
    bearer: Option<String>,
    samples: Vec<Value>,
}

impl Recorder<'_> {
    /// Sends `body` to `path` (a concrete path) and records it under `template`.
    async fn go(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let r = self
            .srv
            .req_as(self.bearer.as_deref(), method.clone(), path, body.clone())
            .await;
        self.samples.push(json!({
            "method": method.as_str(), "path": template, "status": r.status,
            "request": body, "response": r.body,
        }));
        assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.body);
        r.body
    }
}

/// `rec!(r, POST "/api/tasks/{id}" path, body)`: one recorded exchange.
macro_rules! rec {
    ($r:expr, $m:ident $tpl:literal $path:expr) => {
        $r.go(Method::$m, $tpl, &$path, None).await
    };
    ($r:expr, $m:ident $tpl:literal $path:expr, $body:expr) => {
        $r.go(Method::$m, $tpl, &$path, Some($body)).await
    };
}

fn missing(what: &str) -> bool {
    maestro_testkit::services::missing(
        &format!("OpenAPI validation cannot run: {what}"),
        "Run `npm ci --prefix tests/socketio`.",
    );
    true
}

/// A workload over every route family: as a signed-in owner (projects, members, API keys),
/// then with the API token; a few refused requests (their answers must be the error shape).
async fn workload(srv: &TestServer) -> Vec<Value> {
    let mut r = Recorder {
        srv,
        bearer: Some(user_token("alice")),
        samples: Vec::new(),
    };
    rec!(r, GET "/health" "/health");
    rec!(r, GET "/ws-status" "/ws-status");
    rec!(r, GET "/api/auth/config" "/api/auth/config");
    let p = rec!(r, POST "/api/projects" "/api/projects", json!({"name": "Doc", "workingDir": "/tmp/doc", "description": "d"}));
    let pid = p["id"].as_str().unwrap().to_string();
    let pp = format!("/api/projects/{pid}");
    rec!(r, GET "/api/projects" "/api/projects");
    rec!(r, GET "/api/projects/{id}" pp);
    rec!(r, PUT "/api/projects/{id}" pp, json!({"name": "Doc 2"}));
    rec!(r, GET "/api/projects/{id}/members" format!("{pp}/members"));
    let key =
        rec!(r, POST "/api/projects/{id}/api-keys" format!("{pp}/api-keys"), json!({"name": "CI"}));
    rec!(r, GET "/api/projects/{id}/api-keys" format!("{pp}/api-keys"));
    let kid = key["id"].as_str().unwrap();
    rec!(r, DELETE "/api/projects/{id}/api-keys/{key_id}" format!("{pp}/api-keys/{kid}"));

    r.bearer = None;
    let t = rec!(r, POST "/api/tasks" "/api/tasks", json!({"projectId": pid, "title": "Parser", "priority": "high"}));
    let tid = t["id"].as_str().unwrap().to_string();
    let tp = format!("/api/tasks/{tid}");
    let child = rec!(r, POST "/api/tasks" "/api/tasks", json!({"projectId": pid, "title": "Lexer", "parentId": tid}));
    let ctid = child["id"].as_str().unwrap().to_string();
    rec!(r, GET "/api/tasks" format!("/api/tasks?projectId={pid}"));
    rec!(r, GET "/api/tasks/{id}" tp);
    rec!(r, GET "/api/tasks/{id}/children" format!("{tp}/children"));
    rec!(r, POST "/api/tasks" "/api/tasks", json!({"title": 5}));
    rec!(r, GET "/api/tasks/{id}" "/api/tasks/task_missing");

    let s = rec!(r, POST "/api/sessions" "/api/sessions", json!({"projectId": pid, "taskIds": [tid], "name": "worker"}));
    let sid = s["id"].as_str().unwrap().to_string();
    let sp = format!("/api/sessions/{sid}");
    let o = rec!(r, POST "/api/sessions" "/api/sessions", json!({"projectId": pid, "taskIds": [tid], "name": "reviewer"}));
    let oid = o["id"].as_str().unwrap().to_string();
    rec!(r, GET "/api/sessions" format!("/api/sessions?projectId={pid}"));
    rec!(r, GET "/api/sessions/{id}" sp);
    rec!(r, PATCH "/api/sessions/{id}" sp, json!({"status": "working", "needsInput": {"active": true, "message": "Which?"}}));
    rec!(r, PATCH "/api/tasks/{id}" tp, json!({"updateSource": "session", "sessionId": sid, "sessionStatus": "working"}));
    rec!(r, POST "/api/tasks/{id}/timeline" format!("{tp}/timeline"), json!({"sessionId": sid, "message": "half way", "type": "progress"}));
    rec!(r, POST "/api/sessions/{id}/events" format!("{sp}/events"), json!({"type": "tool_use", "data": {"tool": "grep"}}));
    rec!(r, POST "/api/sessions/{id}/timeline" format!("{sp}/timeline"), json!({"type": "milestone", "message": "parsed", "taskId": tid}));
    rec!(r, POST "/api/sessions/{id}/docs" format!("{sp}/docs"), json!({"title": "Notes", "filePath": "/tmp/notes.md", "content": "# N", "taskId": tid}));
    rec!(r, GET "/api/sessions/{id}/docs" format!("{sp}/docs"));
    rec!(r, GET "/api/tasks/{id}/docs" format!("{tp}/docs"));
    rec!(r, POST "/api/sessions/{id}/tasks/{task_id}" format!("{sp}/tasks/{ctid}"));
    rec!(r, DELETE "/api/sessions/{id}/tasks/{task_id}" format!("{sp}/tasks/{ctid}"));
    rec!(r, POST "/api/sessions/{id}/modal" format!("{sp}/modal"), json!({"modalId": "m1", "html": "<p>hi</p>", "title": "Hi"}));
    rec!(r, POST "/api/sessions/{id}/modal/{modal_id}/actions" format!("{sp}/modal/m1/actions"), json!({"action": "ok", "data": {"x": 1}}));
    rec!(r, POST "/api/sessions/{id}/modal/{modal_id}/close" format!("{sp}/modal/m1/close"));
    rec!(r, POST "/api/sessions/{id}/heartbeat" format!("{sp}/heartbeat"));
    rec!(r, GET "/api/presence" "/api/presence");
    rec!(r, POST "/api/sessions/spawn" "/api/sessions/spawn", json!({"projectId": pid, "taskIds": [tid], "mode": "execute", "agentTool": "claude-code"}));

    let m = rec!(r, POST "/api/mail" "/api/mail", json!({"projectId": pid, "fromSessionId": sid, "toSessionId": oid, "type": "query", "subject": "Review?", "body": {"q": 1}}));
    rec!(r, POST "/api/mail" "/api/mail", json!({"projectId": pid, "fromSessionId": sid, "type": "nope", "subject": ""}));
    let mid = m["id"].as_str().unwrap().to_string();
    rec!(r, GET "/api/mail/inbox/{id}" format!("/api/mail/inbox/{oid}?projectId={pid}"));
    rec!(r, GET "/api/mail/wait/{id}" format!("/api/mail/wait/{oid}?projectId={pid}&timeout=1000"));
    rec!(r, GET "/api/mail/{id}" format!("/api/mail/{mid}"));
    rec!(r, DELETE "/api/mail/{id}" format!("/api/mail/{mid}"));

    let tm = rec!(r, POST "/api/team-members" "/api/team-members", json!({"projectId": pid, "name": "Owl", "role": "Reviewer", "avatar": "🦉"}));
    let tmp = format!("/api/team-members/{}", tm["id"].as_str().unwrap());
    let q = format!("?projectId={pid}");
    let in_project = json!({"projectId": pid});
    rec!(r, GET "/api/team-members" format!("/api/team-members{q}"));
    rec!(r, GET "/api/team-members/{id}" format!("{tmp}{q}"));
    rec!(r, PATCH "/api/team-members/{id}" tmp, json!({"projectId": pid, "role": "Senior reviewer"}));
    rec!(r, POST "/api/team-members/{id}/archive" format!("{tmp}/archive"), in_project.clone());
    rec!(r, POST "/api/team-members/{id}/unarchive" format!("{tmp}/unarchive"), in_project.clone());
    rec!(r, GET "/api/ordering/{entity_type}/{project_id}" format!("/api/ordering/task/{pid}"));
    rec!(r, PUT "/api/ordering/{entity_type}/{project_id}" format!("/api/ordering/task/{pid}"), json!({"orderedIds": [tid]}));
    let templates = rec!(r, GET "/api/workflow-templates" "/api/workflow-templates");
    let wid = templates[0]["id"].as_str().unwrap().to_string();
    rec!(r, GET "/api/workflow-templates/{id}" format!("/api/workflow-templates/{wid}"));
    rec!(r, GET "/api/skills" "/api/skills");
    rec!(r, GET "/api/skills/mode/{mode}" "/api/skills/mode/execute");
    rec!(r, GET "/api/skills/{id}" "/api/skills/missing");

    rec!(r, POST "/api/team-members/{id}/archive" format!("{tmp}/archive"), in_project);
    rec!(r, DELETE "/api/team-members/{id}" format!("{tmp}{q}"));
    rec!(r, DELETE "/api/sessions/{id}" sp);
    rec!(r, DELETE "/api/sessions/{id}" format!("/api/sessions/{oid}"));
    rec!(r, DELETE "/api/tasks/{id}" tp);
    r.bearer = Some(user_token("alice"));
    rec!(r, DELETE "/api/projects/{id}" pp);
    r.samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_and_real_answers_match_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/socketio");
    if Command::new("node").arg("--version").output().is_err() && missing("node is not installed") {
        return;
    }
    if !dir
        .join("node_modules/@seriousme/openapi-schema-validator")
        .is_dir()
        && missing("tests/socketio/node_modules is missing")
    {
        return;
    }
    let srv = Builder::new(Adapters::Memory)
        .token(API_TOKEN)
        .users(&["alice"])
        .start()
        .await;
    let samples = workload(&srv).await;
    let doc = srv.get("/api/openapi.json").await.ok(200);
    let tmp = tempfile::tempdir().unwrap();
    let doc_path = tmp.path().join("openapi.json");
    let samples_path = tmp.path().join("samples.json");
    std::fs::write(&doc_path, serde_json::to_vec(&doc).unwrap()).unwrap();
    std::fs::write(&samples_path, serde_json::to_vec(&samples).unwrap()).unwrap();
    let out = Command::new("node")
        .arg("openapi-check.mjs")
        .arg(&doc_path)
        .arg(&samples_path)
        .current_dir(&dir)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{} recorded answers match", samples.len())),
        "{stdout}"
    );
}

/// `/api/docs` is a public page (its CSP allowing what Redoc needs and no other origin); the
/// document it shows still needs a credential.
#[tokio::test]
async fn the_reference_page_is_public_and_the_document_is_not() {
    let srv = Builder::new(Adapters::Memory)
        .token(API_TOKEN)
        .start()
        .await;
    let page = reqwest::get(srv.url("/api/docs")).await.unwrap();
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("http"), "no other origin: {csp}");
    let doc = srv
        .req_as(Some(""), Method::GET, "/api/openapi.json", None)
        .await;
    assert_eq!(doc.status, 401);
    // Not an API operation: it is not in the document.
    let ops = maestro_http::routes::api().operations;
    assert!(ops.iter().all(|o| o.path != "/api/docs"));
}
