//! Wire fidelity with the original server (issue 11): error messages verbatim where the
//! original has them, every invalid mail field reported, the spawn check order, event
//! emission points and link de-duplication.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn an_empty_or_partial_mail_body_lists_every_bad_field() {
    let s = TestServer::memory().await;
    let e = s
        .post("/api/mail", json!({}))
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Invalid request body");
    let paths: Vec<&str> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["projectId", "fromSessionId", "type", "subject"]);
    assert_eq!(
        e["details"][0]["message"],
        "Invalid input: expected string, received undefined"
    );
    assert!(
        e["details"][2]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid option: expected one of \"assignment\"|")
    );

    let e = s
        .post(
            "/api/mail",
            json!({"projectId": "p 1", "fromSessionId": 7, "type": "gossip", "subject": "",
                   "body": [1], "toSessionId": null, "extra": 1, "more": 2}),
        )
        .await
        .err(400, "VALIDATION_ERROR");
    let details: Vec<(String, String)> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str)> = vec![
        (
            "projectId",
            "ID must be alphanumeric with hyphens/underscores only",
        ),
        (
            "fromSessionId",
            "Invalid input: expected string, received number",
        ),
        ("type", ""),
        (
            "subject",
            "Too small: expected string to have >=1 characters",
        ),
        ("body", "Invalid input: expected record, received array"),
        ("", "Unrecognized keys: \"extra\", \"more\""),
    ];
    assert_eq!(details.len(), expected.len(), "{details:?}");
    for ((path, msg), (want_path, want_msg)) in details.iter().zip(expected) {
        assert_eq!(path, want_path);
        if !want_msg.is_empty() {
            assert_eq!(msg, want_msg);
        }
    }
}

#[tokio::test]
async fn refused_project_deletion_uses_the_original_messages() {
    let s = TestServer::memory().await;
    let (pid, tid, sid) = s.basics().await;
    let e = s
        .delete(&format!("/api/projects/{pid}"))
        .await
        .err(422, "BUSINESS_RULE_ERROR");
    assert_eq!(e["message"], "Cannot delete project with existing tasks");
    s.delete(&format!("/api/tasks/{tid}")).await.ok(200);
    let e = s
        .delete(&format!("/api/projects/{pid}"))
        .await
        .err(422, "BUSINESS_RULE_ERROR");
    assert_eq!(e["message"], "Cannot delete project with existing sessions");
    s.delete(&format!("/api/sessions/{sid}")).await.ok(200);
    s.delete(&format!("/api/projects/{pid}")).await.ok(200);
}

#[tokio::test]
async fn team_member_validation_uses_the_original_messages() {
    let s = TestServer::memory().await;
    let pid = id(&s.project("P").await);
    for (body, message) in [
        (json!({"name": "n"}), "Project ID is required"),
        (
            json!({"projectId": pid, "role": "r", "avatar": "a"}),
            "Team member name is required",
        ),
        (
            json!({"projectId": pid, "name": "n", "avatar": "a"}),
            "Team member role is required",
        ),
        (
            json!({"projectId": pid, "name": "n", "role": "r", "avatar": " "}),
            "Team member avatar is required",
        ),
    ] {
        let e = s
            .post("/api/team-members", body.clone())
            .await
            .err(400, "VALIDATION_ERROR");
        assert_eq!(e["message"], message, "{body}");
    }
    let m = s
        .post(
            "/api/team-members",
            json!({"projectId": pid, "name": "n", "role": "r", "avatar": "a"}),
        )
        .await
        .ok(201);
    let e = s
        .patch(
            &format!("/api/team-members/{}", id(&m)),
            json!({"projectId": pid, "name": "  "}),
        )
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Team member name cannot be empty");
    let e = s
        .get(&format!("/api/team-members/{}", id(&m)))
        .await
        .err(400, "VALIDATION_ERROR");
    assert_eq!(e["message"], "projectId query parameter is required");
}

#[tokio::test]
async fn spawn_checks_tasks_then_the_project_then_membership() {
    let s = TestServer::memory().await;
    let (pid, tid, _) = s.basics().await;
    let spawn = |project: &str, task: &str| json!({"projectId": project, "taskIds": [task], "spawnSource": "ui"});
    // A missing task wins over a missing project (the original's order)…
    let e = s
        .post("/api/sessions/spawn", spawn("proj_missing", "task_missing"))
        .await;
    assert_eq!(e.status, 404);
    assert_eq!(e.body["code"], "task_not_found");
    assert_eq!(e.body["message"], "Task task_missing not found");
    assert_eq!(e.body["details"], json!({"taskId": "task_missing"}));
    // …an unknown project is project_not_found before any membership check…
    let e = s
        .post("/api/sessions/spawn", spawn("proj_missing", &tid))
        .await;
    assert_eq!(e.status, 404, "{}", e.body);
    assert_eq!(e.body["code"], "project_not_found");
    assert_eq!(e.body["message"], "Project proj_missing not found");
    // …and only then is a task of another project refused.
    let other = id(&s.project("Other").await);
    let e = s.post("/api/sessions/spawn", spawn(&other, &tid)).await;
    assert_eq!(e.status, 400, "{}", e.body);
    assert_eq!(e.body["code"], "invalid_task_ids");
    let _ = pid;
}

#[tokio::test]
async fn task_session_notifications_come_only_from_a_task_patch() {
    let s = TestServer::memory().await;
    let (pid, tid, sid) = s.basics().await;
    // The session completes: its task entry follows, without notify:task_session_*.
    s.patch(
        &format!("/api/tasks/{tid}"),
        json!({"updateSource": "session", "sessionId": sid, "sessionStatus": "working"}),
    )
    .await
    .ok(200);
    s.take_events();
    s.patch(
        &format!("/api/sessions/{sid}"),
        json!({"status": "completed"}),
    )
    .await
    .ok(200);
    let names = s.take_events();
    assert!(
        !names.iter().any(|n| n.starts_with("notify:task_session")),
        "{names:?}"
    );
    assert!(names.contains(&"notify:session_completed".to_string()));
    // A task PATCH that sets it does notify, with the spec's payload keys.
    let t2 = id(&s.task(&pid, "Second").await);
    let s2 = id(&s.session(&pid, &[&t2]).await);
    s.take_events();
    s.patch(
        &format!("/api/tasks/{t2}"),
        json!({"updateSource": "session", "sessionId": s2, "sessionStatus": "completed"}),
    )
    .await
    .ok(200);
    let ev = s.take_event_data();
    let (_, data) = ev
        .iter()
        .find(|(n, _)| n == "notify:task_session_completed")
        .expect("notify:task_session_completed from the task PATCH");
    for key in ["taskId", "sessionId", "title"] {
        assert!(data.get(key).is_some(), "{key} missing from {data}");
    }
}

#[tokio::test]
async fn repeated_task_ids_in_a_session_patch_link_once() {
    let s = TestServer::memory().await;
    let (pid, tid, sid) = s.basics().await;
    let t2 = id(&s.task(&pid, "Second").await);
    let u = s
        .patch(
            &format!("/api/sessions/{sid}"),
            json!({"taskIds": [tid, t2, tid, t2]}),
        )
        .await
        .ok(200);
    assert_eq!(u["taskIds"], json!([tid, t2]));
    let task: Value = s.get(&format!("/api/tasks/{t2}")).await.ok(200);
    assert_eq!(task["sessionIds"], json!([sid]));
    let added = s
        .take_events()
        .iter()
        .filter(|n| *n == "task:session_added")
        .count();
    assert_eq!(added, 1, "one new link");
}
