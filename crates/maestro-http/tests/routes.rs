//! Every route of API.md §2 through the real router on a real socket: status, body shape, key
//! fields and the events of EVENTS.md §5 in order. Each test runs against the in-memory and
//! the FileSystem adapters.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Adapters, TestServer, id};
use serde_json::{Value, json};

/// Generates `memory::<name>` and `fs::<name>` for every listed `async fn <name>(&TestServer)`.
macro_rules! both_adapters {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    let s = super::TestServer::start(super::Adapters::Memory).await;
                    super::$name(&s).await;
                }
            )+
        }
        mod fs {
            $(
                #[tokio::test]
                async fn $name() {
                    let s = super::TestServer::start(super::Adapters::Fs).await;
                    super::$name(&s).await;
                }
            )+
        }
    };
}

both_adapters!(
    health_and_ws_status,
    projects_crud,
    project_delete_rules,
    tasks_create_get_list,
    task_patch_user_mode,
    task_patch_session_mode_auto_links,
    task_delete_cascades,
    task_timeline_docs_children,
    sessions_create,
    sessions_list_filters,
    session_patch_rules,
    session_delete,
    session_events_timeline_docs,
    session_link_unlink,
    session_modal,
    mail_send_variants,
    mail_inbox_get_delete,
    mail_wait,
    skills,
    ordering,
    team_members_defaults_and_overrides,
    team_members_custom_lifecycle,
    workflow_templates,
    presence_and_heartbeat,
);

/// Every event assertion below relies on the in-memory bus; this names the culprit when it
/// does not deliver.
#[tokio::test]
async fn harness_event_bus_delivers_published_events() {
    use maestro_domain::DomainEvent;
    use maestro_domain::events::Deleted;
    let s = TestServer::start(Adapters::Memory).await;
    let mut log = s.events();
    let event = DomainEvent::TaskDeleted(Deleted {
        id: "task_probe".into(),
        project_id: Some("proj_probe".into()),
    });
    s.state
        .services()
        .ports()
        .bus
        .publish(event.clone())
        .await
        .unwrap();
    assert_eq!(
        log.drain(),
        [(event.name().to_string(), event.data())],
        "maestro_memory::MemoryEventBus must deliver the published event to every subscriber"
    );
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Ids in list order: creation time ascending, ties (same millisecond) by id.
fn creation_order(items: &[&Value]) -> Vec<String> {
    let mut v: Vec<(i64, String)> = items
        .iter()
        .map(|x| (x["createdAt"].as_i64().unwrap(), id(x)))
        .collect();
    v.sort();
    v.into_iter().map(|(_, i)| i).collect()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(id)
        .collect()
}

// ---- infrastructure --------------------------------------------------------------------------

async fn health_and_ws_status(s: &TestServer) {
    let h = s.get("/health").await.ok(200);
    assert_eq!(h["status"], "ok");
    assert!(h["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert!(h["uptime"].as_f64().unwrap() >= 0.0);

    let st = s.get("/ws-status").await.ok(200);
    assert_eq!(
        st,
        json!({"connectedClients": 0, "clients": [], "socketIo": {"ui": 0, "mobile": 0}, "evictedSlowClients": 0})
    );
    let _ws = s.ws("/").await;
    let st = s.get("/ws-status").await.ok(200);
    assert_eq!(st["connectedClients"], 1);
    assert_eq!(
        st["clients"],
        json!([{"readyState": 1, "readyStateText": "OPEN"}])
    );
    // GETs emit nothing.
    assert!(s.take_events().is_empty());

    // Unknown routes are JSON 404s.
    s.get("/api/nope").await.err(404, "NOT_FOUND");
}

// ---- projects ------------------------------------------------------------------------------

async fn projects_crud(s: &TestServer) {
    assert_eq!(s.get("/api/projects").await.ok(200), json!([]));
    let p = s
        .post(
            "/api/projects",
            json!({"name": "  Alpha  ", "workingDir": "/w", "createdAt": 5, "extra": 1}),
        )
        .await
        .ok(201);
    let pid = id(&p);
    assert!(pid.starts_with("proj_"), "{pid}");
    assert_eq!(p["name"], "Alpha");
    assert_eq!(p["workingDir"], "/w");
    assert_eq!(p["description"], "");
    assert_ne!(p["createdAt"], 5, "client createdAt must be ignored");
    assert_eq!(s.take_events(), names(&["project:created"]));

    let p2 = s.project("Beta").await;
    s.take_events();
    assert_eq!(
        ids(&s.get("/api/projects").await.ok(200)),
        creation_order(&[&p, &p2])
    );
    assert_eq!(s.get(&format!("/api/projects/{pid}")).await.ok(200), p);

    // PUT applies only name/workingDir/description (DEFECTS S6).
    let u = s
        .put(
            &format!("/api/projects/{pid}"),
            json!({"name": "Gamma", "description": "new", "id": "hijack", "createdAt": 1, "evil": true}),
        )
        .await
        .ok(200);
    assert_eq!(u["id"], pid.as_str());
    assert_eq!(u["name"], "Gamma");
    assert_eq!(u["description"], "new");
    assert_eq!(u["workingDir"], "/w");
    assert_eq!(u["createdAt"], p["createdAt"]);
    assert!(u.get("evil").is_none());
    assert_eq!(s.take_events(), names(&["project:updated"]));
    s.put(&format!("/api/projects/{pid}"), json!({"name": "  "}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.post("/api/projects", json!({"workingDir": "/x"}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.get("/api/projects/proj_missing")
        .await
        .err(404, "NOT_FOUND");
    s.put("/api/projects/proj_missing", json!({"name": "x"}))
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn project_delete_rules(s: &TestServer) {
    let p = s.project("P").await;
    let pid = id(&p);
    let t = s.task(&pid, "T").await;
    s.take_events();
    s.delete(&format!("/api/projects/{pid}"))
        .await
        .err(422, "BUSINESS_RULE_ERROR");
    s.delete(&format!("/api/tasks/{}", id(&t))).await.ok(200);
    s.take_events();
    let d = s.delete(&format!("/api/projects/{pid}")).await.ok(200);
    assert_eq!(d, json!({"success": true, "id": pid}));
    let ev = s.take_event_data();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "project:deleted");
    assert_eq!(ev[0].1["id"], pid.as_str());
    s.get(&format!("/api/projects/{pid}"))
        .await
        .err(404, "NOT_FOUND");
    s.delete(&format!("/api/projects/{pid}"))
        .await
        .err(404, "NOT_FOUND");

    // A project with only a session is refused too.
    let p = s.project("Q").await;
    let qid = id(&p);
    let t = s.task(&qid, "T").await;
    let sess = s.session(&qid, &[&id(&t)]).await;
    s.patch(
        &format!("/api/sessions/{}", id(&sess)),
        json!({"taskIds": []}),
    )
    .await
    .ok(200);
    s.delete(&format!("/api/tasks/{}", id(&t))).await.ok(200);
    s.delete(&format!("/api/projects/{qid}"))
        .await
        .err(422, "BUSINESS_RULE_ERROR");
}

// ---- tasks -----------------------------------------------------------------------------------

async fn tasks_create_get_list(s: &TestServer) {
    let pid = id(&s.project("P").await);
    s.take_events();
    let t = s
        .post(
            "/api/tasks",
            json!({"projectId": pid, "title": "  Build  ", "description": "d", "model": "ignored"}),
        )
        .await
        .ok(201);
    let tid = id(&t);
    assert!(tid.starts_with("task_"));
    assert_eq!(t["title"], "Build");
    assert_eq!(t["status"], "todo");
    assert_eq!(t["priority"], "medium");
    assert_eq!(t["projectId"], pid.as_str());
    assert_eq!(t["parentId"], Value::Null);
    assert_eq!(t["sessionIds"], json!([]));
    assert_eq!(t["taskSessionStatuses"], json!({}));
    assert!(t.get("model").is_none());
    assert_eq!(s.take_events(), names(&["task:created"]));

    let c = s
        .post(
            "/api/tasks",
            json!({"projectId": pid, "title": "Child", "parentId": tid, "priority": "high"}),
        )
        .await
        .ok(201);
    assert_eq!(c["priority"], "high");
    assert_eq!(c["parentId"], tid.as_str());
    let other = id(&s.project("Other").await);
    let o = s.task(&other, "Elsewhere").await;
    s.take_events();

    assert_eq!(s.get(&format!("/api/tasks/{tid}")).await.ok(200), t);
    assert_eq!(ids(&s.get("/api/tasks").await.ok(200)).len(), 3);
    assert_eq!(
        ids(&s.get(&format!("/api/tasks?projectId={pid}")).await.ok(200)),
        creation_order(&[&t, &c])
    );
    assert_eq!(
        ids(&s
            .get(&format!("/api/tasks?projectId={pid}&parentId=null"))
            .await
            .ok(200)),
        [tid.as_str()]
    );
    assert_eq!(
        ids(&s.get(&format!("/api/tasks?parentId={tid}")).await.ok(200)),
        [id(&c)]
    );
    s.patch(
        &format!("/api/tasks/{}", id(&o)),
        json!({"status": "blocked"}),
    )
    .await
    .ok(200);
    assert_eq!(
        ids(&s.get("/api/tasks?status=blocked").await.ok(200)),
        [id(&o)]
    );
    assert_eq!(
        ids(&s.get("/api/tasks?status=todo&unknownKey=1").await.ok(200)),
        creation_order(&[&t, &c])
    );
    s.take_events();

    // Errors, in the original's order.
    s.post("/api/tasks", json!({"title": "x"}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.post("/api/tasks", json!({"projectId": pid, "title": " "}))
        .await
        .err(400, "VALIDATION_ERROR");
    let e = s
        .post(
            "/api/tasks",
            json!({"projectId": "proj_none", "title": "x"}),
        )
        .await
        .err(404, "NOT_FOUND");
    assert_eq!(e["message"], "Project with id 'proj_none' not found");
    let e = s
        .post(
            "/api/tasks",
            json!({"projectId": pid, "title": "x", "parentId": "task_none"}),
        )
        .await
        .err(404, "NOT_FOUND");
    assert_eq!(e["message"], "Parent task with id 'task_none' not found");
    s.get("/api/tasks/task_none").await.err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn task_patch_user_mode(s: &TestServer) {
    let pid = id(&s.project("P").await);
    let t = s.task(&pid, "T").await;
    let tid = id(&t);
    let path = format!("/api/tasks/{tid}");
    s.take_events();

    let u = s
        .patch(
            &path,
            json!({"status": "in_progress", "title": "T2", "pinned": true, "projectId": "hijack", "parentId": "x"}),
        )
        .await
        .ok(200);
    assert_eq!(u["status"], "in_progress");
    assert_eq!(u["title"], "T2");
    assert_eq!(u["pinned"], true);
    assert_eq!(u["projectId"], pid.as_str());
    assert_eq!(u["parentId"], Value::Null);
    let started = u["startedAt"].as_i64().unwrap();
    assert_eq!(s.take_events(), names(&["task:updated"]));

    let u = s.patch(&path, json!({"status": "completed"})).await.ok(200);
    assert!(u["completedAt"].is_i64());
    assert_eq!(u["startedAt"], started);
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["task:updated", "notify:task_completed"]
    );
    assert_eq!(ev[1].1["taskId"], tid.as_str());
    assert_eq!(ev[1].1["title"], "T2");

    // Same status again: no notify.
    s.patch(&path, json!({"status": "completed"})).await.ok(200);
    assert_eq!(s.take_events(), names(&["task:updated"]));

    for (status, notify) in [
        ("in_review", "notify:task_in_review"),
        ("blocked", "notify:task_blocked"),
        ("cancelled", "notify:task_failed"),
    ] {
        let u = s.patch(&path, json!({"status": status})).await.ok(200);
        assert_eq!(u["status"], status);
        // MODEL.md §Task: set once, kept after leaving `completed`.
        assert!(
            u["completedAt"].is_i64(),
            "completedAt kept after leaving completed"
        );
        assert_eq!(s.take_events(), names(&["task:updated", notify]));
    }
    s.patch(&path, json!({"status": "archived"})).await.ok(200);
    assert_eq!(s.take_events(), names(&["task:updated"]));

    // taskSessionStatuses merge in user mode notifies changed keys.
    let sid = id(&s.session(&pid, &[&tid]).await);
    s.take_events();
    let u = s
        .patch(
            &path,
            json!({"taskSessionStatuses": {sid.clone(): "failed"}, "updateSource": "user", "sessionStatus": "completed"}),
        )
        .await
        .ok(200);
    assert_eq!(u["taskSessionStatuses"][&sid], "failed");
    assert_eq!(
        s.take_events(),
        names(&["task:updated", "notify:task_session_failed"])
    );

    s.patch(&path, json!({"title": "   "}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.patch("/api/tasks/task_none", json!({"title": "x"}))
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn task_patch_session_mode_auto_links(s: &TestServer) {
    let pid = id(&s.project("P").await);
    let t1 = id(&s.task(&pid, "T1").await);
    let t2 = id(&s.task(&pid, "T2").await);
    let sid = id(&s.session(&pid, &[&t1]).await);
    s.take_events();

    // Not linked yet: auto-link, then the status entry.
    let u = s
        .patch(
            &format!("/api/tasks/{t2}"),
            json!({"updateSource": "session", "sessionId": sid, "sessionStatus": "working", "status": "completed", "title": "ignored"}),
        )
        .await
        .ok(200);
    assert_eq!(u["taskSessionStatuses"], json!({sid.clone(): "working"}));
    assert_eq!(u["status"], "todo", "status ignored in session mode");
    assert_eq!(u["title"], "T2", "title ignored in session mode");
    assert_eq!(u["sessionIds"], json!([sid.clone()]));
    assert_eq!(
        s.take_events(),
        names(&["session:task_added", "task:session_added", "task:updated"])
    );
    let sess = s.get(&format!("/api/sessions/{sid}")).await.ok(200);
    assert_eq!(sess["taskIds"], json!([t1.clone(), t2.clone()]));
    let last = sess["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "task_started");
    assert_eq!(last["taskId"], t2.as_str());

    // Linked now: just the status, with its notify.
    s.patch(
        &format!("/api/tasks/{t2}"),
        json!({"updateSource": "session", "sessionId": sid, "sessionStatus": "completed"}),
    )
    .await
    .ok(200);
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["task:updated", "notify:task_session_completed"]
    );
    assert_eq!(ev[1].1["sessionId"], sid.as_str());
    assert_eq!(ev[1].1["taskId"], t2.as_str());

    // Nothing to change: no event (DEFECTS C21).
    s.patch(
        &format!("/api/tasks/{t2}"),
        json!({"updateSource": "session", "sessionId": sid}),
    )
    .await
    .ok(200);
    assert!(s.take_events().is_empty());

    s.patch(
        &format!("/api/tasks/{t2}"),
        json!({"updateSource": "session", "sessionId": "sess_none", "sessionStatus": "working"}),
    )
    .await
    .err(404, "NOT_FOUND");
    // Cross-project auto-link is refused.
    let other = id(&s.project("O").await);
    let ot = id(&s.task(&other, "OT").await);
    s.take_events();
    s.patch(
        &format!("/api/tasks/{ot}"),
        json!({"updateSource": "session", "sessionId": sid, "sessionStatus": "working"}),
    )
    .await
    .err(422, "BUSINESS_RULE_ERROR");
    assert!(s.take_events().is_empty());
}

async fn task_delete_cascades(s: &TestServer) {
    let pid = id(&s.project("P").await);
    let root = id(&s.task(&pid, "root").await);
    let child = id(&s.child_task(&pid, &root, "child").await);
    let grandchild = id(&s.child_task(&pid, &child, "grandchild").await);
    let keep = id(&s.task(&pid, "keep").await);
    let sid = id(&s.session(&pid, &[&root, &keep]).await);
    s.take_events();

    let d = s.delete(&format!("/api/tasks/{root}")).await.ok(200);
    assert_eq!(d, json!({"success": true, "id": root}));
    let ev = s.take_event_data();
    let deleted: Vec<String> = ev
        .iter()
        .filter(|e| e.0 == "task:deleted")
        .map(|e| e.1["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(deleted, [grandchild.clone(), child.clone(), root.clone()]);
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        [
            "task:deleted",
            "task:deleted",
            "session:task_removed",
            "task:session_removed",
            "task:deleted"
        ]
    );
    for t in [&root, &child, &grandchild] {
        s.get(&format!("/api/tasks/{t}"))
            .await
            .err(404, "NOT_FOUND");
    }
    let sess = s.get(&format!("/api/sessions/{sid}")).await.ok(200);
    assert_eq!(sess["taskIds"], json!([keep]));
    s.delete(&format!("/api/tasks/{root}"))
        .await
        .err(404, "NOT_FOUND");
}

async fn task_timeline_docs_children(s: &TestServer) {
    let (pid, tid, sid) = s.basics().await;
    let r = s
        .post(
            &format!("/api/tasks/{tid}/timeline"),
            json!({"message": "halfway", "sessionId": sid}),
        )
        .await
        .ok(200);
    assert_eq!(
        r,
        json!({"success": true, "taskId": tid, "sessionId": sid, "message": "halfway", "type": "progress"})
    );
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["session:updated", "notify:progress"]
    );
    assert_eq!(ev[1].1["taskId"], tid.as_str());
    let entry = ev[0].1["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(entry["message"], "halfway");
    assert_eq!(entry["taskId"], tid.as_str());

    s.post(
        &format!("/api/tasks/{tid}/timeline"),
        json!({"sessionId": sid}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(
        &format!("/api/tasks/{tid}/timeline"),
        json!({"message": "m"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(
        "/api/tasks/task_none/timeline",
        json!({"message": "m", "sessionId": sid}),
    )
    .await
    .err(404, "NOT_FOUND");

    // Docs: of linked sessions, about this task or no task, oldest first.
    let other = id(&s.task(&pid, "other").await);
    for (title, task) in [
        ("general", None),
        ("mine", Some(&tid)),
        ("theirs", Some(&other)),
    ] {
        let mut body = json!({"title": title, "filePath": format!("/d/{title}.md")});
        if let Some(t) = task {
            body["taskId"] = json!(t);
        }
        s.post(&format!("/api/sessions/{sid}/docs"), body)
            .await
            .ok(200);
    }
    let docs = s.get(&format!("/api/tasks/{tid}/docs")).await.ok(200);
    let titles: Vec<&str> = docs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["general", "mine"]);
    assert_eq!(docs[0]["sessionId"], sid.as_str());
    assert_eq!(docs[0]["sessionName"], "worker");
    assert_eq!(docs[1]["filePath"], "/d/mine.md");
    s.get("/api/tasks/task_none/docs")
        .await
        .err(404, "NOT_FOUND");

    // Children: direct only.
    let c1 = s.child_task(&pid, &tid, "c1").await;
    let _g = s.child_task(&pid, &id(&c1), "g").await;
    let c2 = s.child_task(&pid, &tid, "c2").await;
    assert_eq!(
        ids(&s.get(&format!("/api/tasks/{tid}/children")).await.ok(200)),
        creation_order(&[&c1, &c2])
    );
    assert_eq!(
        s.get(&format!("/api/tasks/{other}/children")).await.ok(200),
        json!([])
    );
    s.get("/api/tasks/task_none/children")
        .await
        .err(404, "NOT_FOUND");
}

// ---- sessions --------------------------------------------------------------------------------

async fn sessions_create(s: &TestServer) {
    let pid = id(&s.project("P").await);
    let t1 = id(&s.task(&pid, "T1").await);
    let t2 = id(&s.task(&pid, "T2").await);
    s.take_events();

    // The CLI's register body, with a client-chosen id.
    let body = json!({
        "id": "sess_client_1", "projectId": pid, "taskIds": [t1, t2],
        "name": "execute: sess_client_1", "status": "working", "metadata": {"mode": "execute"},
        "strategy": "simple", "_suppressCreatedEvent": true
    });
    let c = s.post("/api/sessions", body.clone()).await.ok(201);
    assert_eq!(c["id"], "sess_client_1");
    assert_eq!(c["status"], "working");
    assert_eq!(c["taskIds"], json!([t1.clone(), t2.clone()]));
    assert_eq!(c["metadata"], json!({"mode": "execute"}));
    assert_eq!(c["hostname"], "test-host");
    assert!(c.get("strategy").is_none());
    let kinds: Vec<&str> = c["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["session_started", "task_started", "task_started"]);
    // `_suppressCreatedEvent` is ignored from the wire.
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        [
            "session:created",
            "task:session_added",
            "task:session_added"
        ]
    );
    assert_eq!(ev[0].1, c, "session:created carries the response object");
    assert_eq!(
        ev[1].1,
        json!({"taskId": t1, "sessionId": "sess_client_1", "projectId": pid})
    );
    let task = s.get(&format!("/api/tasks/{t1}")).await.ok(200);
    assert_eq!(task["sessionIds"], json!(["sess_client_1"]));
    assert_eq!(s.get("/api/sessions/sess_client_1").await.ok(200), c);

    // Duplicate id: 409, nothing replaced, no event.
    let mut dup = body.clone();
    dup["name"] = json!("hijack");
    s.post("/api/sessions", dup).await.err(409, "CONFLICT");
    assert_eq!(
        s.get("/api/sessions/sess_client_1").await.ok(200)["name"],
        c["name"]
    );
    assert!(s.take_events().is_empty());

    // `taskId` shorthand and defaults.
    let c2 = s
        .post("/api/sessions", json!({"projectId": pid, "taskId": t2}))
        .await
        .ok(201);
    assert!(id(&c2).starts_with("sess_"));
    assert_eq!(c2["taskIds"], json!([t2.clone()]));
    assert_eq!(c2["status"], "idle");
    assert_eq!(c2["env"], json!({}));
    assert_eq!(
        s.take_events(),
        names(&["session:created", "task:session_added"])
    );

    s.post("/api/sessions", json!({"projectId": pid}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.post("/api/sessions", json!({"taskIds": [t1]}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.post(
        "/api/sessions",
        json!({"projectId": pid, "taskIds": [t1], "id": "../evil"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(
        "/api/sessions",
        json!({"projectId": "proj_none", "taskIds": [t1]}),
    )
    .await
    .err(404, "NOT_FOUND");
    let e = s
        .post(
            "/api/sessions",
            json!({"projectId": pid, "taskIds": [t1, "task_none"]}),
        )
        .await
        .err(404, "NOT_FOUND");
    assert_eq!(e["message"], "Task with id 'task_none' not found");
    s.get("/api/sessions/sess_none").await.err(404, "NOT_FOUND");
    // `spawn` is not an id route for GET either.
    s.get("/api/sessions/spawn").await.err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn sessions_list_filters(s: &TestServer) {
    let p1 = id(&s.project("P1").await);
    let p2 = id(&s.project("P2").await);
    let t1 = id(&s.task(&p1, "T1").await);
    let t2 = id(&s.task(&p1, "T2").await);
    let t3 = id(&s.task(&p2, "T3").await);
    let mk = |pid: String, tid: String, status: &'static str| json!({"projectId": pid, "taskIds": [tid], "status": status});
    let a = id(&s
        .post("/api/sessions", mk(p1.clone(), t1.clone(), "working"))
        .await
        .ok(201));
    let b = id(&s
        .post("/api/sessions", mk(p1.clone(), t2.clone(), "completed"))
        .await
        .ok(201));
    let c = id(&s
        .post("/api/sessions", mk(p1.clone(), t1.clone(), "failed"))
        .await
        .ok(201));
    let d = id(&s
        .post("/api/sessions", mk(p2.clone(), t3.clone(), "spawning"))
        .await
        .ok(201));
    let e = id(&s
        .post("/api/sessions", mk(p2.clone(), t3.clone(), "stopped"))
        .await
        .ok(201));
    let f = id(&s
        .post("/api/sessions", mk(p1.clone(), t2.clone(), "idle"))
        .await
        .ok(201));
    s.take_events();

    let all = ids(&s.get("/api/sessions").await.ok(200));
    assert_eq!(all.len(), 6);
    let mut sorted = all.clone();
    sorted.sort();
    let mut expect = vec![
        a.clone(),
        b.clone(),
        c.clone(),
        d.clone(),
        e.clone(),
        f.clone(),
    ];
    expect.sort();
    assert_eq!(sorted, expect);

    let set = |v: Value| {
        let mut x = ids(&v);
        x.sort();
        x
    };
    let sorted_of = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        set(s
            .get(&format!("/api/sessions?projectId={p2}"))
            .await
            .ok(200)),
        sorted_of(vec![d.clone(), e.clone()])
    );
    assert_eq!(
        set(s.get(&format!("/api/sessions?taskId={t1}")).await.ok(200)),
        sorted_of(vec![a.clone(), c.clone()])
    );
    assert_eq!(
        set(s.get("/api/sessions?status=completed").await.ok(200)),
        vec![b.clone()]
    );
    // active=true: only spawning, idle, working (DEFECTS C17).
    assert_eq!(
        set(s.get("/api/sessions?active=true").await.ok(200)),
        sorted_of(vec![a.clone(), d.clone(), f.clone()])
    );
    assert_eq!(
        set(s
            .get(&format!("/api/sessions?projectId={p1}&active=true"))
            .await
            .ok(200)),
        sorted_of(vec![a.clone(), f.clone()])
    );
    assert_eq!(
        set(s
            .get(&format!(
                "/api/sessions?taskId={t1}&projectId={p1}&active=true"
            ))
            .await
            .ok(200)),
        vec![a.clone()]
    );
    assert_eq!(
        set(s.get("/api/sessions?active=false").await.ok(200)).len(),
        6
    );
    assert_eq!(
        s.get("/api/sessions?taskId=task_none").await.ok(200),
        json!([])
    );
    assert!(s.take_events().is_empty());
}

async fn session_patch_rules(s: &TestServer) {
    let (pid, tid, sid) = s.basics().await;
    let path = format!("/api/sessions/{sid}");
    let t2 = id(&s.task(&pid, "T2").await);
    // The task reports `working` for this session.
    s.patch(
        &format!("/api/tasks/{tid}"),
        json!({"updateSource": "session", "sessionId": sid, "sessionStatus": "working"}),
    )
    .await
    .ok(200);
    s.take_events();

    // Plain field changes; unknown keys ignored; name not updatable.
    let u = s
        .patch(
            &path,
            json!({"agentId": "agent-7", "env": {"A": "1"}, "name": "nope", "completedAt": 5}),
        )
        .await
        .ok(200);
    assert_eq!(u["agentId"], "agent-7");
    assert_eq!(u["env"], json!({"A": "1"}));
    assert_eq!(u["name"], "worker");
    assert_eq!(u["completedAt"], Value::Null);
    assert_eq!(s.take_events(), names(&["session:updated"]));
    let u = s
        .patch(&path, json!({"env": {"B": "2"}, "events": [{"type": "custom", "data": {"x": 1}}], "timeline": [{"type": "note", "message": "hello"}]}))
        .await
        .ok(200);
    assert_eq!(u["env"], json!({"A": "1", "B": "2"}), "env is merged");
    let last_event = u["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last_event["type"], "custom");
    assert!(last_event["id"].is_string() && last_event["timestamp"].is_i64());
    let last_tl = u["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last_tl["message"], "hello");
    s.take_events();

    // needsInput: notify on the rising edge only.
    s.patch(
        &path,
        json!({"needsInput": {"active": true, "message": "Which DB?"}}),
    )
    .await
    .ok(200);
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["session:updated", "notify:needs_input"]
    );
    assert_eq!(ev[1].1["message"], "Which DB?");
    assert_eq!(ev[1].1["sessionId"], sid.as_str());
    s.patch(
        &path,
        json!({"needsInput": {"active": true, "message": "again"}}),
    )
    .await
    .ok(200);
    assert_eq!(s.take_events(), names(&["session:updated"]));
    let u = s
        .patch(
            &path,
            json!({"status": "working", "needsInput": {"active": false}}),
        )
        .await
        .ok(200);
    assert_eq!(u["needsInput"], json!({"active": false}));
    s.take_events();

    // taskIds replacement keeps both sides consistent.
    let u = s
        .patch(&path, json!({"taskIds": [tid.clone(), t2.clone()]}))
        .await
        .ok(200);
    assert_eq!(u["taskIds"], json!([tid.clone(), t2.clone()]));
    assert_eq!(
        s.get(&format!("/api/tasks/{t2}")).await.ok(200)["sessionIds"],
        json!([sid.clone()])
    );
    assert_eq!(
        s.take_events(),
        names(&[
            "session:task_added",
            "task:session_added",
            "session:updated"
        ])
    );

    // Completion propagates into working/blocked task-session statuses, without
    // notify:task_session_* (the original emits those only from a task PATCH).
    let u = s.patch(&path, json!({"status": "completed"})).await.ok(200);
    assert_eq!(u["status"], "completed");
    let completed_at = u["completedAt"].as_i64().unwrap();
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        [
            "task:updated",
            "session:updated",
            "notify:session_completed"
        ]
    );
    assert_eq!(ev[0].1["id"], tid.as_str());
    assert_eq!(ev[0].1["taskSessionStatuses"][&sid], "completed");
    assert_eq!(
        ev[2].1,
        json!({"sessionId": sid, "name": "worker", "projectId": pid})
    );

    // Stop guard: `stopped` never overwrites `completed`; nothing else → unchanged, no event.
    let u = s.patch(&path, json!({"status": "stopped"})).await.ok(200);
    assert_eq!(u["status"], "completed");
    assert_eq!(u["completedAt"], completed_at);
    assert!(s.take_events().is_empty());
    // With another field the rest still applies.
    let u = s
        .patch(&path, json!({"status": "stopped", "agentId": "a2"}))
        .await
        .ok(200);
    assert_eq!(u["status"], "completed");
    assert_eq!(u["agentId"], "a2");
    assert_eq!(s.take_events(), names(&["session:updated"]));

    // Back to working clears completedAt; failed notifies.
    let u = s.patch(&path, json!({"status": "working"})).await.ok(200);
    assert_eq!(u["completedAt"], Value::Null);
    s.take_events();
    let u = s.patch(&path, json!({"status": "failed"})).await.ok(200);
    assert!(u["completedAt"].is_i64());
    assert_eq!(
        s.take_events(),
        names(&["session:updated", "notify:session_failed"])
    );
    let u = s.patch(&path, json!({"status": "stopped"})).await.ok(200);
    assert_eq!(u["status"], "failed", "stopped never overwrites failed");

    s.patch("/api/sessions/sess_none", json!({"status": "working"}))
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn session_delete(s: &TestServer) {
    let (pid, tid, sid) = s.basics().await;
    let t2 = id(&s.task(&pid, "T2").await);
    s.post(&format!("/api/sessions/{sid}/tasks/{t2}"), json!({}))
        .await
        .ok(200);
    s.post(&format!("/api/sessions/{sid}/heartbeat"), json!({}))
        .await
        .ok(200);
    s.take_events();
    let d = s.delete(&format!("/api/sessions/{sid}")).await.ok(200);
    assert_eq!(d, json!({"success": true, "id": sid}));
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        [
            "task:session_removed",
            "task:session_removed",
            "session:deleted"
        ]
    );
    assert_eq!(ev[2].1["id"], sid.as_str());
    s.get(&format!("/api/sessions/{sid}"))
        .await
        .err(404, "NOT_FOUND");
    for t in [&tid, &t2] {
        assert_eq!(
            s.get(&format!("/api/tasks/{t}")).await.ok(200)["sessionIds"],
            json!([])
        );
    }
    assert_eq!(s.get("/api/presence").await.ok(200), json!([]));
    s.delete(&format!("/api/sessions/{sid}"))
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn session_events_timeline_docs(s: &TestServer) {
    let (_pid, tid, sid) = s.basics().await;
    // #21 events
    let r = s
        .post(
            &format!("/api/sessions/{sid}/events"),
            json!({"type": "file_modified", "data": {"file": "a.rs", "timestamp": "2026-01-01T00:00:00Z"}}),
        )
        .await
        .ok(200);
    assert_eq!(r["id"], sid.as_str(), "full session returned");
    let e = r["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(e["type"], "file_modified");
    assert_eq!(e["data"]["file"], "a.rs");
    assert!(e["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(s.take_events(), names(&["session:updated"]));
    s.post(&format!("/api/sessions/{sid}/events"), json!({"data": {}}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.post("/api/sessions/sess_none/events", json!({"type": "x"}))
        .await
        .err(404, "NOT_FOUND");

    // #22 timeline
    let r = s
        .post(
            &format!("/api/sessions/{sid}/timeline"),
            json!({"message": "step 1", "taskId": tid, "metadata": {"k": 1}}),
        )
        .await
        .ok(200);
    let e = r["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(e["type"], "progress");
    assert_eq!(e["metadata"], json!({"k": 1}));
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["session:updated", "notify:progress"]
    );
    assert_eq!(ev[1].1["message"], "step 1");
    let r = s
        .post(
            &format!("/api/sessions/{sid}/timeline"),
            json!({"message": "need a decision", "type": "needs_input"}),
        )
        .await
        .ok(200);
    assert_eq!(r["needsInput"]["active"], true);
    assert_eq!(r["needsInput"]["message"], "need a decision");
    assert_eq!(
        s.take_events(),
        names(&["session:updated", "notify:needs_input"])
    );
    s.post(
        &format!("/api/sessions/{sid}/timeline"),
        json!({"message": "done", "type": "task_status_changed"}),
    )
    .await
    .ok(200);
    assert_eq!(s.take_events(), names(&["session:updated"]));
    s.post(&format!("/api/sessions/{sid}/timeline"), json!({}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.post("/api/sessions/sess_none/timeline", json!({"message": "m"}))
        .await
        .err(404, "NOT_FOUND");

    // #23/#24 docs
    let r = s
        .post(
            &format!("/api/sessions/{sid}/docs"),
            json!({"title": "Plan", "filePath": "/docs/plan.md", "content": "# plan"}),
        )
        .await
        .ok(200);
    assert_eq!(r["id"], sid.as_str(), "docs POST returns the whole session");
    let tl = r["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(tl["type"], "doc_added");
    assert_eq!(s.take_events(), names(&["session:updated"]));
    let docs = s.get(&format!("/api/sessions/{sid}/docs")).await.ok(200);
    assert_eq!(docs.as_array().unwrap().len(), 1);
    assert_eq!(docs[0]["title"], "Plan");
    assert_eq!(docs[0]["content"], "# plan");
    assert_eq!(docs[0]["addedBy"], sid.as_str());
    s.post(
        &format!("/api/sessions/{sid}/docs"),
        json!({"filePath": "/x"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(&format!("/api/sessions/{sid}/docs"), json!({"title": "x"}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.get("/api/sessions/sess_none/docs")
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn session_link_unlink(s: &TestServer) {
    let (pid, tid, sid) = s.basics().await;
    let t2 = id(&s.task(&pid, "T2").await);
    s.take_events();
    let r = s
        .post(&format!("/api/sessions/{sid}/tasks/{t2}"), json!({}))
        .await
        .ok(200);
    assert_eq!(r["taskIds"], json!([tid.clone(), t2.clone()]));
    let ev = s.take_event_data();
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["session:task_added", "task:session_added"]
    );
    assert_eq!(ev[0].1["sessionId"], sid.as_str());
    assert_eq!(ev[0].1["taskId"], t2.as_str());
    assert_eq!(
        s.get(&format!("/api/tasks/{t2}")).await.ok(200)["sessionIds"],
        json!([sid.clone()])
    );
    // Linking again: no duplicate ids, one more timeline entry.
    let again = s
        .post(&format!("/api/sessions/{sid}/tasks/{t2}"), json!({}))
        .await
        .ok(200);
    assert_eq!(again["taskIds"], json!([tid.clone(), t2.clone()]));
    assert_eq!(
        again["timeline"].as_array().unwrap().len(),
        r["timeline"].as_array().unwrap().len() + 1
    );
    s.take_events();

    let r = s
        .delete(&format!("/api/sessions/{sid}/tasks/{t2}"))
        .await
        .ok(200);
    assert_eq!(r["taskIds"], json!([tid.clone()]));
    let last = r["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "task_completed");
    assert_eq!(last["message"], "Removed task from session");
    assert_eq!(
        s.take_events(),
        names(&["session:task_removed", "task:session_removed"])
    );
    assert_eq!(
        s.get(&format!("/api/tasks/{t2}")).await.ok(200)["sessionIds"],
        json!([])
    );
    s.post(&format!("/api/sessions/sess_none/tasks/{t2}"), json!({}))
        .await
        .err(404, "NOT_FOUND");
    s.post(&format!("/api/sessions/{sid}/tasks/task_none"), json!({}))
        .await
        .err(404, "NOT_FOUND");
    s.delete(&format!("/api/sessions/{sid}/tasks/task_none"))
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

async fn session_modal(s: &TestServer) {
    let (pid, tid, sid) = s.basics().await;
    let other = id(&s.session(&pid, &[&tid]).await);
    s.take_events();
    let r = s
        .post(
            &format!("/api/sessions/{sid}/modal"),
            json!({"modalId": "modal-1", "html": "<p>Pick one</p>"}),
        )
        .await
        .ok(200);
    assert_eq!(
        r,
        json!({"success": true, "modalId": "modal-1", "sessionId": sid, "message": "Modal sent to UI"})
    );
    let ev = s.take_event_data();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "session:modal");
    let m = &ev[0].1;
    assert_eq!(m["title"], "Agent Modal");
    assert_eq!(m["html"], "<p>Pick one</p>");
    assert_eq!(m["sessionId"], sid.as_str());
    let file = m["filePath"].as_str().unwrap();
    assert!(file.ends_with("modal-1.html"), "{file}");
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        "<p>Pick one</p>",
        "modal HTML written under DATA_DIR/modals"
    );
    assert!(std::path::Path::new(file).starts_with(&s.data_dir));

    let r = s
        .post(
            &format!("/api/sessions/{sid}/modal/modal-1/actions"),
            json!({"action": "choose", "data": {"option": "A"}}),
        )
        .await
        .ok(200);
    assert_eq!(
        r,
        json!({"success": true, "modalId": "modal-1", "action": "choose"})
    );
    let ev = s.take_event_data();
    assert_eq!(ev[0].0, "session:modal_action");
    assert_eq!(ev[0].1["data"], json!({"option": "A"}));
    assert_eq!(ev[0].1["action"], "choose");
    s.post(
        &format!("/api/sessions/{sid}/modal/modal-1/actions"),
        json!({"action": "ok"}),
    )
    .await
    .ok(200);
    assert_eq!(s.take_event_data()[0].1["data"], json!({}));
    s.post(
        &format!("/api/sessions/{sid}/modal/modal-1/actions"),
        json!({}),
    )
    .await
    .err(400, "VALIDATION_ERROR");

    let r = s
        .post_empty(&format!("/api/sessions/{sid}/modal/modal-1/close"))
        .await
        .ok(200);
    assert_eq!(r, json!({"success": true, "modalId": "modal-1"}));
    assert_eq!(s.take_events(), names(&["session:modal_closed"]));

    // A modal never shown (or shown by another session) is 404 (DEFECTS S7).
    s.post(
        &format!("/api/sessions/{sid}/modal/never-shown/actions"),
        json!({"action": "ok"}),
    )
    .await
    .err(404, "NOT_FOUND");
    s.post_empty(&format!("/api/sessions/{sid}/modal/never-shown/close"))
        .await
        .err(404, "NOT_FOUND");
    s.post(
        &format!("/api/sessions/{other}/modal/modal-1/actions"),
        json!({"action": "ok"}),
    )
    .await
    .err(404, "NOT_FOUND");
    s.post_empty("/api/sessions/sess_none/modal/modal-1/close")
        .await
        .err(404, "NOT_FOUND");
    // Modal validation.
    s.post(
        &format!("/api/sessions/{sid}/modal"),
        json!({"html": "<p/>"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(
        &format!("/api/sessions/{sid}/modal"),
        json!({"modalId": "m2"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(
        &format!("/api/sessions/{sid}/modal"),
        json!({"modalId": "../../escape", "html": "<p/>"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.post(
        "/api/sessions/sess_none/modal",
        json!({"modalId": "m3", "html": "<p/>"}),
    )
    .await
    .err(404, "NOT_FOUND");
    let r = s
        .post(
            &format!("/api/sessions/{sid}/modal"),
            json!({"modalId": "m4", "html": "<b/>", "title": "Choose", "filePath": "/custom/m4.html"}),
        )
        .await
        .ok(200);
    assert_eq!(r["modalId"], "m4");
    let ev = s.take_event_data();
    assert_eq!(ev[0].1["title"], "Choose");
    assert_eq!(ev[0].1["filePath"], "/custom/m4.html");
    assert!(s.take_events().is_empty());

    // Deleting the session removes its modal pages (DEFECTS O8); others' stay.
    let other_modal = s
        .post(
            &format!("/api/sessions/{other}/modal"),
            json!({"modalId": "m-other", "html": "<i/>"}),
        )
        .await
        .ok(200);
    assert_eq!(other_modal["modalId"], "m-other");
    let modals = s.data_dir.join("modals");
    assert!(modals.join("m4.html").exists());
    s.delete(&format!("/api/sessions/{sid}")).await.ok(200);
    assert!(
        !modals.join("m4.html").exists(),
        "modal page of deleted session removed"
    );
    assert!(!modals.join("modal-1.html").exists());
    assert!(
        modals.join("m-other.html").exists(),
        "other session's modal kept"
    );
}

// ---- mail ------------------------------------------------------------------------------------

fn mail(from: &str, to: Option<&str>, kind: &str, subject: &str) -> Value {
    json!({
        "projectId": "proj_mail", "fromSessionId": from, "toSessionId": to,
        "type": kind, "subject": subject, "body": {"detail": subject}
    })
}

async fn mail_send_variants(s: &TestServer) {
    s.seed("proj_mail", &["sess_a", "sess_b", "sess_boss"])
        .await;
    // Direct.
    let m = s
        .post(
            "/api/mail",
            mail("sess_a", Some("sess_b"), "directive", "Do it"),
        )
        .await
        .ok(201);
    assert!(m.is_object(), "one recipient → single object: {m}");
    assert!(id(&m).starts_with("mail_"));
    assert_eq!(m["toSessionId"], "sess_b");
    assert_eq!(m["replyToMailId"], Value::Null);
    assert_eq!(m["type"], "directive");
    assert_eq!(m["body"], json!({"detail": "Do it"}));
    assert!(m["createdAt"].is_i64());
    let ev = s.take_event_data();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "mail:received");
    assert_eq!(ev[0].1, m);

    // Broadcast (explicit null and absent), reply.
    let b = s
        .post("/api/mail", mail("sess_a", None, "notification", "All"))
        .await
        .ok(201);
    assert_eq!(b["toSessionId"], Value::Null);
    let mut no_to = mail("sess_a", None, "query", "No recipient");
    no_to.as_object_mut().unwrap().remove("toSessionId");
    no_to.as_object_mut().unwrap().remove("body");
    let b2 = s.post("/api/mail", no_to).await.ok(201);
    assert_eq!(b2["toSessionId"], Value::Null);
    assert_eq!(b2["body"], json!({}));
    let mut reply = mail("sess_b", Some("sess_a"), "response", "Re: Do it");
    reply["replyToMailId"] = json!(id(&m));
    let r = s.post("/api/mail", reply).await.ok(201);
    assert_eq!(r["replyToMailId"], m["id"]);
    assert_eq!(
        s.take_events(),
        names(&["mail:received", "mail:received", "mail:received"])
    );

    // toTeamMemberId: one active session → object; several → array; none → 404.
    let pid = id(&s.project("Mail").await);
    let tid = id(&s.task(&pid, "T").await);
    let mk = |status: &'static str, meta: Value| json!({"projectId": pid, "taskIds": [tid], "status": status, "metadata": meta});
    let s1 = id(&s
        .post(
            "/api/sessions",
            mk("working", json!({"teamMemberId": "tm_x"})),
        )
        .await
        .ok(201));
    s.post(
        "/api/sessions",
        mk("completed", json!({"teamMemberId": "tm_x"})),
    )
    .await
    .ok(201);
    s.take_events();
    let to_member = json!({
        "projectId": pid, "fromSessionId": "sess_boss", "toTeamMemberId": "tm_x",
        "type": "assignment", "subject": "Work"
    });
    let one = s.post("/api/mail", to_member.clone()).await.ok(201);
    assert!(one.is_object(), "{one}");
    assert_eq!(one["toSessionId"], s1.as_str());
    assert_eq!(s.take_events(), names(&["mail:received"]));
    let s2 = id(&s
        .post(
            "/api/sessions",
            mk("idle", json!({"teamMemberIds": ["tm_y", "tm_x"]})),
        )
        .await
        .ok(201));
    s.take_events();
    let many = s.post("/api/mail", to_member.clone()).await.ok(201);
    let arr = many.as_array().unwrap_or_else(|| panic!("array: {many}"));
    let mut to: Vec<&str> = arr
        .iter()
        .map(|m| m["toSessionId"].as_str().unwrap())
        .collect();
    to.sort();
    let mut want = vec![s1.as_str(), s2.as_str()];
    want.sort();
    assert_eq!(to, want);
    assert_eq!(s.take_events(), names(&["mail:received", "mail:received"]));
    let mut nobody = to_member.clone();
    nobody["toTeamMemberId"] = json!("tm_nobody");
    let e = s.post("/api/mail", nobody).await.err(404, "NOT_FOUND");
    assert!(e["message"].as_str().unwrap().contains("tm_nobody"));
    assert!(s.take_events().is_empty());

    // Strict schema: E3 with details.
    for bad in [
        json!({"projectId": "p", "fromSessionId": "a", "type": "query"}),
        json!({"projectId": "p", "fromSessionId": "a", "type": "gossip", "subject": "s"}),
        json!({"projectId": "p", "fromSessionId": "a/b", "type": "query", "subject": "s"}),
        json!({"projectId": "p", "fromSessionId": "a", "type": "query", "subject": ""}),
        json!({"projectId": "p", "fromSessionId": "a", "type": "query", "subject": "x".repeat(501)}),
        json!({"projectId": "p", "fromSessionId": "a", "type": "query", "subject": "s", "body": [1]}),
        json!({"projectId": "p", "fromSessionId": "a", "type": "query", "subject": "s", "extra": 1}),
    ] {
        let e = s
            .post("/api/mail", bad.clone())
            .await
            .err(400, "VALIDATION_ERROR");
        assert_eq!(e["message"], "Invalid request body", "{bad}");
        assert!(
            e["details"].as_array().is_some_and(|d| !d.is_empty()),
            "details[] for {bad}: {e}"
        );
    }
    assert!(s.take_events().is_empty());
}

async fn mail_inbox_get_delete(s: &TestServer) {
    s.seed("proj_mail", &["sess_a", "sess_b", "sess_c", "sess_z"])
        .await;
    s.seed("proj_other", &[]).await;
    let direct = s
        .post(
            "/api/mail",
            mail("sess_a", Some("sess_b"), "directive", "one"),
        )
        .await
        .ok(201);
    let bcast = s
        .post("/api/mail", mail("sess_c", None, "notification", "two"))
        .await
        .ok(201);
    let _own = s
        .post(
            "/api/mail",
            mail("sess_b", None, "notification", "own broadcast"),
        )
        .await
        .ok(201);
    let _other = s
        .post(
            "/api/mail",
            mail("sess_a", Some("sess_z"), "directive", "not for b"),
        )
        .await
        .ok(201);
    // A session of another project is not a recipient there (404, nothing stored).
    let mut elsewhere = mail("sess_a", Some("sess_b"), "directive", "other project");
    elsewhere["projectId"] = json!("proj_other");
    s.post("/api/mail", elsewhere).await.err(404, "NOT_FOUND");
    s.take_events();

    let inbox = s
        .get("/api/mail/inbox/sess_b?projectId=proj_mail")
        .await
        .ok(200);
    assert_eq!(ids(&inbox), [id(&direct), id(&bcast)]);
    assert_eq!(
        ids(&s
            .get("/api/mail/inbox/sess_b?projectId=proj_mail&type=notification")
            .await
            .ok(200)),
        [id(&bcast)]
    );
    let since = direct["createdAt"].as_i64().unwrap();
    assert_eq!(
        ids(&s
            .get(&format!(
                "/api/mail/inbox/sess_b?projectId=proj_mail&since={since}"
            ))
            .await
            .ok(200)),
        [id(&bcast)]
    );
    assert_eq!(
        ids(&s
            .get("/api/mail/inbox/sess_b?projectId=proj_mail&since=0")
            .await
            .ok(200))
        .len(),
        2
    );
    // No projectId matches nothing.
    assert_eq!(s.get("/api/mail/inbox/sess_b").await.ok(200), json!([]));
    let e = s
        .get("/api/mail/inbox/sess_b?projectId=proj_mail&bogus=1")
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Invalid query parameters");
    assert!(e["details"].is_array());
    let e = s
        .get("/api/mail/inbox/bad.id?projectId=proj_mail")
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Invalid URL parameters");
    // `/api/mail/inbox` alone is a mail lookup of id `inbox`.
    s.get("/api/mail/inbox").await.err(404, "NOT_FOUND");

    // Get, delete.
    assert_eq!(
        s.get(&format!("/api/mail/{}", id(&direct))).await.ok(200),
        direct
    );
    let d = s
        .delete(&format!("/api/mail/{}", id(&direct)))
        .await
        .ok(200);
    assert_eq!(d, json!({"deleted": true, "id": id(&direct)}));
    let ev = s.take_event_data();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "mail:deleted");
    assert_eq!(ev[0].1["id"], direct["id"]);
    s.get(&format!("/api/mail/{}", id(&direct)))
        .await
        .err(404, "NOT_FOUND");
    s.delete(&format!("/api/mail/{}", id(&direct)))
        .await
        .err(404, "NOT_FOUND");
    s.get("/api/mail/mail_none").await.err(404, "NOT_FOUND");
    let e = s.get("/api/mail/bad.id").await.err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Invalid URL parameters");
    assert!(s.take_events().is_empty());
}

async fn mail_wait(s: &TestServer) {
    s.seed("proj_mail", &["sess_w", "sess_x", "sess_other"])
        .await;
    // Empty inbox, short timeout → [] after about the timeout.
    let t0 = Instant::now();
    let r = s
        .get("/api/mail/wait/sess_w?projectId=proj_mail&timeout=1000")
        .await
        .ok(200);
    assert_eq!(r, json!([]));
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );

    // Arrival from a concurrent POST wakes the waiter. The wait's own timeout is 120 s: an
    // answer within 60 s was a wake-up (the guard is against a hang, it measures nothing).
    let services = s.state.services();
    let waiter = s.get("/api/mail/wait/sess_w?projectId=proj_mail&timeout=120000");
    let sender = async {
        maestro_testkit::poll::until("waiting", || services.pending_mail_waits() == 1).await;
        s.post(
            "/api/mail",
            mail("sess_x", Some("sess_w"), "query", "ping?"),
        )
        .await
        .ok(201)
    };
    let (got, sent) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(waiter, sender)
    })
    .await
    .expect("the mail wakes the wait");
    let got = got.ok(200);
    assert_eq!(ids(&got), [id(&sent)]);

    // Non-empty inbox → returned at once (since=0 = whole inbox), not at the timeout.
    let r = tokio::time::timeout(
        Duration::from_secs(60),
        s.get("/api/mail/wait/sess_w?projectId=proj_mail&timeout=120000"),
    )
    .await
    .expect("a non-empty inbox answers at once")
    .ok(200);
    assert_eq!(ids(&r), [id(&sent)]);
    // With a cursor past it → waits, and mail for somebody else does not wake it.
    let since = sent["createdAt"].as_i64().unwrap();
    let path = format!("/api/mail/wait/sess_w?projectId=proj_mail&timeout=3000&since={since}");
    let waiter = s.get(&path);
    let other = async {
        maestro_testkit::poll::until("waiting", || services.pending_mail_waits() == 1).await;
        s.post(
            "/api/mail",
            mail("sess_x", Some("sess_other"), "query", "not yours"),
        )
        .await
        .ok(201);
    };
    let (got, ()) = tokio::join!(waiter, other);
    assert_eq!(got.ok(200), json!([]));

    // Validation.
    for q in [
        "timeout=999",
        "timeout=120001",
        "timeout=abc",
        "since=abc",
        "nope=1",
    ] {
        let e = s
            .get(&format!("/api/mail/wait/sess_w?projectId=proj_mail&{q}"))
            .await
            .err(400, "VALIDATION_ERROR");
        assert_eq!(e["message"], "Invalid query parameters", "{q}");
    }
    s.get("/api/mail/wait/bad.id?projectId=p")
        .await
        .err(400, "VALIDATION_ERROR");
    // Wait emits nothing by itself.
    assert_eq!(s.take_events(), names(&["mail:received", "mail:received"]));
}

// ---- skills, ordering, templates ------------------------------------------------------------

async fn skills(s: &TestServer) {
    assert_eq!(s.get("/api/skills").await.ok(200), json!([]));
    s.write_skill(
        "b-worker",
        "---\nname: Worker Skill\ndescription: Does work\nversion: 2\ntags: [rust, tests]\n---\n# Worker body\n",
    );
    s.write_skill(
        "a-orch",
        "---\nname: Orchestrator\nrole: orchestrator\n---\nOrchestrate.\n",
    );
    s.write_skill("c-broken", "no frontmatter here\n");
    std::fs::create_dir_all(s.skills_dir.join("a-orch/references")).unwrap();
    std::fs::write(s.skills_dir.join("a-orch/references/guide.md"), "g").unwrap();
    s.write_skill(".hidden", "---\nname: Hidden\n---\nx\n");

    let list = s.get("/api/skills").await.ok(200);
    assert_eq!(ids(&list), ["a-orch", "b-worker"]);
    let w = &list[1];
    assert_eq!(w["name"], "Worker Skill");
    assert_eq!(w["description"], "Does work");
    assert_eq!(w["version"], "2");
    assert_eq!(w["tags"], json!(["rust", "tests"]));
    assert_eq!(w["content"], "# Worker body\n");
    assert_eq!(w["hasReferences"], false);
    assert_eq!(w["referenceCount"], 0);
    assert!(w.get("role").is_none(), "unset keys omitted");
    assert_eq!(list[0]["version"], "1.0.0");
    assert_eq!(list[0]["hasReferences"], true);
    assert_eq!(list[0]["referenceCount"], 1);

    let d = s.get("/api/skills/a-orch").await.ok(200);
    assert_eq!(
        d,
        json!({"id": "a-orch", "name": "Orchestrator", "description": "", "type": "mode", "version": "1.0.0", "instructions": "Orchestrate.\n"})
    );
    assert_eq!(
        s.get("/api/skills/b-worker").await.ok(200)["type"],
        "custom"
    );
    s.get("/api/skills/nope").await.err(404, "NOT_FOUND");
    s.get("/api/skills/c-broken").await.err(404, "NOT_FOUND");

    let coord = s.get("/api/skills/mode/coordinate").await.ok(200);
    assert_eq!(
        coord,
        json!([{"id": "Orchestrator", "name": "Orchestrator", "description": "", "type": "mode", "version": "1.0.0"}])
    );
    let exec = s.get("/api/skills/mode/execute").await.ok(200);
    assert_eq!(ids(&exec), ["Worker Skill"]);
    s.get("/api/skills/mode/turbo")
        .await
        .err(400, "VALIDATION_ERROR");

    // Reload picks up a changed file.
    s.write_skill(
        "b-worker",
        "---\nname: Worker Skill v3\nversion: 3.0.0\n---\nnew body\n",
    );
    let r = s.post_empty("/api/skills/b-worker/reload").await.ok(200);
    assert_eq!(
        r,
        json!({"id": "b-worker", "name": "Worker Skill v3", "description": "", "type": "custom", "version": "3.0.0", "reloaded": true})
    );
    assert_eq!(
        s.get("/api/skills/b-worker").await.ok(200)["instructions"],
        "new body\n"
    );
    s.post_empty("/api/skills/nope/reload")
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty(), "skills emit nothing");
}

async fn ordering(s: &TestServer) {
    s.seed("proj_o", &[]).await;
    let o = s.get("/api/ordering/task/proj_o").await.ok(200);
    assert_eq!(
        o,
        json!({"projectId": "proj_o", "entityType": "task", "orderedIds": [], "updatedAt": 0})
    );
    let saved = s
        .put(
            "/api/ordering/session/proj_o",
            json!({"orderedIds": ["b", "a", "c"]}),
        )
        .await
        .ok(200);
    assert_eq!(saved["orderedIds"], json!(["b", "a", "c"]));
    assert_eq!(saved["entityType"], "session");
    assert!(saved["updatedAt"].as_i64().unwrap() > 0);
    assert_eq!(s.get("/api/ordering/session/proj_o").await.ok(200), saved);
    // The other entity type is independent.
    assert_eq!(
        s.get("/api/ordering/task/proj_o").await.ok(200)["orderedIds"],
        json!([])
    );
    let replaced = s
        .put("/api/ordering/session/proj_o", json!({"orderedIds": ["z"]}))
        .await
        .ok(200);
    assert_eq!(replaced["orderedIds"], json!(["z"]));
    s.get("/api/ordering/widget/proj_o")
        .await
        .err(400, "VALIDATION_ERROR");
    s.put("/api/ordering/widget/proj_o", json!({"orderedIds": []}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.put("/api/ordering/task/proj_o", json!({"orderedIds": "a,b"}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.put("/api/ordering/task/proj_o", json!({"orderedIds": [1, 2]}))
        .await
        .err(400, "VALIDATION_ERROR");
    s.put("/api/ordering/task/proj_o", json!({}))
        .await
        .err(400, "VALIDATION_ERROR");
    assert!(s.take_events().is_empty(), "ordering emits nothing");
}

async fn workflow_templates(s: &TestServer) {
    let all = s.get("/api/workflow-templates").await.ok(200);
    let all_ids = ids(&all);
    for want in [
        "execute-simple",
        "execute-tree",
        "coordinate-default",
        "coordinate-batching",
        "coordinate-dag",
    ] {
        assert!(all_ids.iter().any(|i| i == want), "{want} in {all_ids:?}");
    }
    for t in all.as_array().unwrap() {
        assert_eq!(t["builtIn"], true);
        assert!(t["phases"].as_array().is_some_and(|p| !p.is_empty()));
    }
    let exec = s.get("/api/workflow-templates?mode=execute").await.ok(200);
    assert!(!exec.as_array().unwrap().is_empty());
    assert!(
        exec.as_array()
            .unwrap()
            .iter()
            .all(|t| t["mode"] == "execute")
    );
    let coord = s
        .get("/api/workflow-templates?mode=coordinate")
        .await
        .ok(200);
    assert_eq!(
        exec.as_array().unwrap().len() + coord.as_array().unwrap().len(),
        all_ids.len()
    );
    assert_eq!(
        s.get("/api/workflow-templates?mode=bogus").await.ok(200),
        all
    );
    let t = s
        .get("/api/workflow-templates/coordinate-dag")
        .await
        .ok(200);
    assert_eq!(t["name"], "Coordinate DAG");
    assert_eq!(t["mode"], "coordinate");
    let phases: Vec<&str> = t["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        ["analyze", "build_dag", "execute_wave", "verify", "complete"]
    );
    s.get("/api/workflow-templates/nope")
        .await
        .err(404, "NOT_FOUND");
}

// ---- team members ----------------------------------------------------------------------------

async fn team_members_defaults_and_overrides(s: &TestServer) {
    let pid = id(&s.project("Team").await);
    s.take_events();
    let list = s
        .get(&format!("/api/team-members?projectId={pid}"))
        .await
        .ok(200);
    let defaults = list.as_array().unwrap();
    assert_eq!(defaults.len(), 5);
    assert!(defaults.iter().all(|m| m["isDefault"] == true));
    let worker_id = format!("tm_{pid}_simple_worker");
    assert_eq!(defaults[0]["id"], worker_id.as_str());
    assert_eq!(defaults[0]["name"], "Simple Worker");
    // Stable timestamps between reads (DEFECTS C8).
    let again = s
        .get(&format!("/api/team-members?projectId={pid}"))
        .await
        .ok(200);
    assert_eq!(again, list);

    // Custom members come after the defaults.
    let custom = s
        .post(
            "/api/team-members",
            json!({"projectId": pid, "name": "Rev", "role": "Reviewer", "avatar": "R"}),
        )
        .await
        .ok(201);
    let list = s
        .get(&format!("/api/team-members?projectId={pid}"))
        .await
        .ok(200);
    assert_eq!(list.as_array().unwrap().len(), 6);
    assert_eq!(list[5]["id"], custom["id"]);
    s.take_events();

    // Override a default via PATCH.
    let u = s
        .patch(
            &format!("/api/team-members/{worker_id}"),
            json!({"projectId": pid, "name": "Renamed Worker", "model": "opus", "isDefault": false, "id": "x"}),
        )
        .await
        .ok(200);
    assert_eq!(u["id"], worker_id.as_str());
    assert_eq!(u["name"], "Renamed Worker");
    assert_eq!(u["model"], "opus");
    assert_eq!(u["isDefault"], true);
    let ev = s.take_event_data();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "team_member:updated");
    assert_eq!(ev[0].1["name"], "Renamed Worker");
    let got = s
        .get(&format!("/api/team-members/{worker_id}?projectId={pid}"))
        .await
        .ok(200);
    assert_eq!(got["name"], "Renamed Worker");
    let list = s
        .get(&format!("/api/team-members?projectId={pid}"))
        .await
        .ok(200);
    assert_eq!(list[0]["name"], "Renamed Worker");
    // Overrides are per project.
    let other = id(&s.project("Other").await);
    s.take_events();
    assert_eq!(
        s.get(&format!(
            "/api/team-members/tm_{other}_simple_worker?projectId={other}"
        ))
        .await
        .ok(200)["name"],
        "Simple Worker"
    );

    // Rules on defaults.
    s.patch(
        &format!("/api/team-members/{worker_id}"),
        json!({"projectId": pid, "status": "archived"}),
    )
    .await
    .err(403, "FORBIDDEN");
    s.patch(
        &format!("/api/team-members/{worker_id}"),
        json!({"projectId": pid, "name": "  "}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    s.delete(&format!("/api/team-members/{worker_id}?projectId={pid}"))
        .await
        .err(403, "FORBIDDEN");
    s.post(
        &format!("/api/team-members/{worker_id}/archive"),
        json!({"projectId": pid}),
    )
    .await
    .err(403, "FORBIDDEN");
    s.post(
        &format!("/api/team-members/{worker_id}/unarchive"),
        json!({"projectId": pid}),
    )
    .await
    .err(403, "FORBIDDEN");
    assert!(s.take_events().is_empty());

    // Reset restores the pristine default.
    let r = s
        .post(
            &format!("/api/team-members/{worker_id}/reset"),
            json!({"projectId": pid}),
        )
        .await
        .ok(200);
    assert_eq!(r["name"], "Simple Worker");
    assert_eq!(r["model"], "sonnet");
    assert_eq!(s.take_events(), names(&["team_member:updated"]));
    assert_eq!(
        s.get(&format!("/api/team-members/{worker_id}?projectId={pid}"))
            .await
            .ok(200)["name"],
        "Simple Worker"
    );
    let e = s
        .post(
            &format!("/api/team-members/{}/reset", id(&custom)),
            json!({"projectId": pid}),
        )
        .await
        .err(404, "NOT_FOUND");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("Default team member")
    );

    // projectId is mandatory everywhere.
    s.get("/api/team-members")
        .await
        .err(400, "VALIDATION_ERROR");
    s.get(&format!("/api/team-members/{worker_id}"))
        .await
        .err(400, "VALIDATION_ERROR");
    s.delete(&format!("/api/team-members/{}", id(&custom)))
        .await
        .err(400, "VALIDATION_ERROR");
    for route in ["archive", "unarchive", "reset"] {
        s.post_empty(&format!("/api/team-members/{worker_id}/{route}"))
            .await
            .err(400, "VALIDATION_ERROR");
    }
    s.patch(
        &format!("/api/team-members/{worker_id}"),
        json!({"name": "x"}),
    )
    .await
    .err(400, "VALIDATION_ERROR");
    assert!(s.take_events().is_empty());
}

async fn team_members_custom_lifecycle(s: &TestServer) {
    let pid = id(&s.project("Team").await);
    s.take_events();
    let m = s
        .post(
            "/api/team-members",
            json!({
                "projectId": pid, "name": "  Tess  ", "role": "Tester", "avatar": "T",
                "mode": "execute", "agentTool": "codex", "model": "", "strategy": "dropped",
                "capabilities": {"can_edit_tasks": true}
            }),
        )
        .await
        .ok(201);
    let mid = id(&m);
    assert!(mid.starts_with("tm_"));
    assert_eq!(m["name"], "Tess");
    assert_eq!(m["isDefault"], false);
    assert_eq!(m["status"], "active");
    assert_eq!(m["identity"], "");
    assert_eq!(m["skillIds"], json!([]));
    assert_eq!(m["agentTool"], "codex");
    assert_eq!(m["capabilities"], json!({"can_edit_tasks": true}));
    assert!(m.get("model").is_none(), "falsy optional strings dropped");
    assert!(m.get("strategy").is_none());
    assert!(m["createdAt"].as_str().unwrap().contains('T'), "ISO string");
    assert_eq!(s.take_events(), names(&["team_member:created"]));
    for bad in [
        json!({"name": "x", "role": "r", "avatar": "a"}),
        json!({"projectId": pid, "role": "r", "avatar": "a"}),
        json!({"projectId": pid, "name": "x", "role": " ", "avatar": "a"}),
        json!({"projectId": pid, "name": "x", "role": "r"}),
    ] {
        s.post("/api/team-members", bad)
            .await
            .err(400, "VALIDATION_ERROR");
    }

    let path = format!("/api/team-members/{mid}");
    assert_eq!(s.get(&format!("{path}?projectId={pid}")).await.ok(200), m);
    s.get(&format!("{path}?projectId=proj_other"))
        .await
        .err(404, "NOT_FOUND");
    let u = s
        .patch(
            &path,
            json!({"projectId": pid, "role": "Lead tester", "skillIds": ["s1"]}),
        )
        .await
        .ok(200);
    assert_eq!(u["role"], "Lead tester");
    assert_eq!(u["skillIds"], json!(["s1"]));
    assert_eq!(u["isDefault"], false);
    assert_eq!(s.take_events(), names(&["team_member:updated"]));

    // Active members cannot be deleted.
    s.delete(&format!("{path}?projectId={pid}"))
        .await
        .err(422, "BUSINESS_RULE_ERROR");
    // Archive (idempotent without event), unarchive, archive via PATCH status.
    let a = s
        .post(&format!("{path}/archive"), json!({"projectId": pid}))
        .await
        .ok(200);
    assert_eq!(a["status"], "archived");
    assert_eq!(s.take_events(), names(&["team_member:archived"]));
    let a2 = s
        .post(&format!("{path}/archive"), json!({"projectId": pid}))
        .await
        .ok(200);
    assert_eq!(a2, a);
    assert!(s.take_events().is_empty());
    let un = s
        .post(&format!("{path}/unarchive"), json!({"projectId": pid}))
        .await
        .ok(200);
    assert_eq!(un["status"], "active");
    assert_eq!(s.take_events(), names(&["team_member:updated"]));
    s.post(&format!("{path}/unarchive"), json!({"projectId": pid}))
        .await
        .ok(200);
    assert!(s.take_events().is_empty());
    let p = s
        .patch(&path, json!({"projectId": pid, "status": "archived"}))
        .await
        .ok(200);
    assert_eq!(p["status"], "archived");
    assert_eq!(s.take_events(), names(&["team_member:archived"]));

    // Archived custom member: delete.
    let d = s.delete(&format!("{path}?projectId={pid}")).await.ok(200);
    assert_eq!(d, json!({"success": true, "id": mid}));
    let ev = s.take_event_data();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "team_member:deleted");
    assert_eq!(ev[0].1["id"], mid.as_str());
    s.get(&format!("{path}?projectId={pid}"))
        .await
        .err(404, "NOT_FOUND");
    for route in ["archive", "unarchive"] {
        s.post(&format!("{path}/{route}"), json!({"projectId": pid}))
            .await
            .err(404, "NOT_FOUND");
    }
    s.patch(&path, json!({"projectId": pid, "name": "x"}))
        .await
        .err(404, "NOT_FOUND");
    s.delete(&format!("{path}?projectId={pid}"))
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty());
}

// ---- presence --------------------------------------------------------------------------------

async fn presence_and_heartbeat(s: &TestServer) {
    let (pid, _tid, sid) = s.basics().await;
    assert_eq!(s.get("/api/presence").await.ok(200), json!([]));
    let hb = s
        .post_empty(&format!("/api/sessions/{sid}/heartbeat"))
        .await
        .ok(200);
    assert_eq!(hb["success"], true);
    assert_eq!(hb["sessionId"], sid.as_str());
    assert_eq!(hb["ttlMs"], 15_000);
    let expires = hb["expiresAt"].as_i64().unwrap();
    let p = s.get("/api/presence").await.ok(200);
    assert_eq!(p.as_array().unwrap().len(), 1);
    assert_eq!(p[0]["sessionId"], sid.as_str());
    assert_eq!(p[0]["projectId"], pid.as_str());
    assert_eq!(p[0]["expiresAt"], expires);
    s.post_empty("/api/sessions/sess_none/heartbeat")
        .await
        .err(404, "NOT_FOUND");
    assert!(s.take_events().is_empty(), "heartbeats emit nothing");
}

/// `/health/live` always answers; `/health/ready` is 200 with nothing configured to fail,
/// and 503 `draining` once the server has begun shutting down.
#[tokio::test]
async fn liveness_and_readiness() {
    let s = TestServer::memory().await;
    let live = s.get("/health/live").await.ok(200);
    assert_eq!(live["status"], "ok");
    assert!(live["uptime"].as_f64().unwrap() >= 0.0);
    let ready = s.get("/health/ready").await.ok(200);
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["failing"], serde_json::json!([]));
    s.state.services().begin_shutdown();
    let draining = s.get("/health/ready").await;
    assert_eq!(draining.status, 503);
    assert_eq!(draining.body["status"], "draining");
    s.get("/health/live").await.ok(200);
}

/// Every answer carries `X-Request-Id`: the client's (when sane), else a generated one; an
/// error body names it as `requestId` when the client sent it, and is the original's shape
/// otherwise.
#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let s = TestServer::memory().await;
    let get = |path: &str, id: Option<&str>| {
        let mut r = s.client().get(s.url(path));
        if let Some(id) = id {
            r = r.header("x-request-id", id);
        }
        r.send()
    };
    let r = get("/api/tasks/task_missing", Some("trace-42.a:b"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-request-id"], "trace-42.a:b");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["requestId"], "trace-42.a:b", "{body}");
    assert_eq!(body["error"], true);
    assert_eq!(body["code"], "NOT_FOUND");

    let r = get("/api/tasks/task_missing", None).await.unwrap();
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 24, "{generated}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.get("requestId").is_none(), "unchanged shape: {body}");

    let r = get("/health", Some("bad id with spaces")).await.unwrap();
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "bad id with spaces");
    assert_eq!(id.len(), 24);
}
