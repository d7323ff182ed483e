use super::*;
use serde_json::json;

#[test]
fn enums_use_exact_literals() {
    assert_eq!(
        serde_json::to_value(TaskStatus::InProgress).unwrap(),
        "in_progress"
    );
    assert_eq!(
        serde_json::to_value(AgentTool::ClaudeCode).unwrap(),
        "claude-code"
    );
    assert_eq!(
        MailMessageType::parse("status_update"),
        Some(MailMessageType::StatusUpdate)
    );
    assert_eq!(SessionStatus::parse("nope"), None);
}

#[test]
fn task_round_trips_with_nulls_and_unknown_keys() {
    let raw = json!({
        "id": "task_1_a", "projectId": "proj_1_a", "parentId": null, "title": "T",
        "description": "", "status": "todo", "priority": "medium", "createdAt": 1,
        "updatedAt": 1, "startedAt": null, "completedAt": null, "initialPrompt": "",
        "sessionIds": [], "skillIds": [], "agentIds": [], "dependencies": [],
        "referenceTaskIds": [], "acceptanceCriteria": ["works"]
    });
    let task: Task = serde_json::from_value(raw).unwrap();
    assert_eq!(task.extra["acceptanceCriteria"], json!(["works"]));
    let back = serde_json::to_value(&task).unwrap();
    assert_eq!(back["parentId"], Value::Null);
    assert_eq!(back["completedAt"], Value::Null);
    assert_eq!(back["taskSessionStatuses"], json!({}));
    assert_eq!(back["acceptanceCriteria"], json!(["works"]));
    assert!(back.get("pinned").is_none());
}

#[test]
fn session_matches_team_member_through_metadata() {
    let raw = json!({
        "id": "s", "projectId": "p", "name": "n", "status": "idle", "startedAt": 1,
        "lastActivity": 1, "metadata": {"teamMemberIds": ["tm_a", "tm_b"]}
    });
    let s: Session = serde_json::from_value(raw).unwrap();
    assert!(s.serves_team_member("tm_b"));
    assert!(!s.serves_team_member("tm_c"));
    let out = serde_json::to_value(&s).unwrap();
    assert_eq!(out["completedAt"], Value::Null);
    assert!(out.get("needsInput").is_none());
}

#[test]
fn mail_serialises_null_recipient() {
    let m = MailMessage {
        id: "mail_1".into(),
        project_id: "p".into(),
        from_session_id: "s".into(),
        to_session_id: None,
        reply_to_mail_id: None,
        kind: MailMessageType::Query,
        subject: "hi".into(),
        body: json!({}),
        created_at: 5,
    };
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["toSessionId"], Value::Null);
    assert_eq!(v["type"], "query");
}
