//! Builders of valid, fully populated entities: every optional field is set and every record
//! carries unknown `extra` keys, so a round trip through an adapter checks all of them.
//!
//! Ids passed in should be safe ids (`^[A-Za-z0-9_-]{1,128}$`); [`unique_id`] makes fresh ones.

use std::collections::BTreeMap;

use maestro_domain::DomainEvent;
use maestro_domain::events::ProgressNotice;
use maestro_domain::ids::{RandomIds, SystemClock, iso_from_millis};
use maestro_domain::model::{
    AgentMode, AgentTool, Capabilities, CommandPermissions, DocEntry, EntityType, JsonObject,
    MailMessage, MailMessageType, Millis, NeedsInput, Ordering, Project, Session, SessionEvent,
    SessionStatus, Task, TaskPriority, TaskStatus, TeamMember, TeamMemberSnapshot,
    TeamMemberStatus, TimelineEvent,
};
use maestro_domain::ports::{Clock, Heartbeat, IdGenerator};
use serde_json::{Value, json};

/// A fresh id `<prefix>_<now ms>_<9 random base-36 chars>`, unique across processes, so cases
/// can share one backend.
pub fn unique_id(prefix: &str) -> String {
    RandomIds.generate(prefix, SystemClock.now_ms())
}

/// The current wall-clock time in epoch ms.
pub fn now_ms() -> Millis {
    SystemClock.now_ms()
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// A project created (and last updated) at `created_at`, with an unknown `legacyField` key.
pub fn project(id: &str, created_at: Millis) -> Project {
    Project {
        id: id.to_owned(),
        name: format!("Project {id}"),
        working_dir: format!("/work/{id}"),
        description: "A fixture project".to_owned(),
        created_at,
        updated_at: created_at,
        extra: object(json!({
            "legacyField": "kept",
            "legacyNested": {"list": [1, "two", null], "flag": true},
        })),
    }
}

/// A root `todo` task of `project_id` created at `created_at`, linked to no session, with the
/// unknown keys `acceptanceCriteria` and `metadata`.
pub fn task(id: &str, project_id: &str, created_at: Millis) -> Task {
    Task {
        id: id.to_owned(),
        project_id: project_id.to_owned(),
        parent_id: None,
        title: format!("Task {id}"),
        description: "A fixture task".to_owned(),
        status: TaskStatus::Todo.into(),
        task_session_statuses: BTreeMap::new(),
        priority: TaskPriority::High.into(),
        created_at,
        updated_at: created_at,
        started_at: None,
        completed_at: None,
        initial_prompt: "Do the fixture work".to_owned(),
        session_ids: Vec::new(),
        skill_ids: vec!["skill-a".to_owned()],
        agent_ids: vec!["agent-a".to_owned()],
        dependencies: vec!["task_dep_1".to_owned()],
        reference_task_ids: vec!["task_ref_1".to_owned()],
        pinned: Some(true),
        team_member_id: Some("tm_fixture".to_owned()),
        team_member_ids: Some(vec!["tm_fixture".to_owned(), "tm_other".to_owned()]),
        claimed_by: None,
        claim_expires_at: None,
        claim_fencing_token: None,
        extra: object(json!({
            "acceptanceCriteria": ["it works", "it is tested"],
            "metadata": {"origin": "fixture", "weight": 3},
        })),
    }
}

fn snapshot() -> TeamMemberSnapshot {
    TeamMemberSnapshot {
        name: "Fixture Worker".to_owned(),
        avatar: "⚡".to_owned(),
        role: "Default executor".to_owned(),
        model: Some("sonnet".to_owned()),
        agent_tool: Some("claude-code".to_owned()),
    }
}

/// An `idle` session of `project_id` started at `started_at`, linked to no task, with one
/// event, timeline entry and doc, every optional field set, and an unknown `customKey`.
pub fn session(id: &str, project_id: &str, started_at: Millis) -> Session {
    Session {
        id: id.to_owned(),
        project_id: project_id.to_owned(),
        task_ids: Vec::new(),
        name: format!("Session {id}"),
        agent_id: Some("agent-a".to_owned()),
        env: BTreeMap::from([
            ("MAESTRO_SESSION_ID".to_owned(), id.to_owned()),
            ("MAESTRO_PROJECT_ID".to_owned(), project_id.to_owned()),
        ]),
        status: SessionStatus::Idle,
        started_at,
        last_activity: started_at,
        completed_at: None,
        hostname: "fixture-host".to_owned(),
        platform: "linux".to_owned(),
        events: vec![SessionEvent {
            id: format!("evt_{started_at}_a"),
            timestamp: started_at,
            kind: "file_modified".to_owned(),
            data: Some(json!({"path": "src/lib.rs"})),
        }],
        timeline: vec![TimelineEvent {
            id: format!("evt_{started_at}_b"),
            kind: "session_started".to_owned(),
            timestamp: started_at,
            message: Some("Session created".to_owned()),
            task_id: None,
            metadata: Some(json!({"source": "fixture"})),
        }],
        docs: vec![DocEntry {
            id: format!("doc_{started_at}_c"),
            title: "Notes".to_owned(),
            file_path: "docs/notes.md".to_owned(),
            content: Some("# Notes".to_owned()),
            task_id: Some("task_fixture".to_owned()),
            added_at: started_at,
            added_by: Some(id.to_owned()),
        }],
        metadata: Some(object(json!({"mode": "execute", "skills": ["skill-a"]}))),
        needs_input: Some(NeedsInput {
            options: None,
            active: false,
            message: Some("nothing needed".to_owned()),
            since: Some(started_at),
        }),
        team_member_id: Some("tm_fixture".to_owned()),
        team_member_snapshot: Some(snapshot()),
        team_member_ids: Some(vec!["tm_fixture".to_owned()]),
        team_member_snapshots: Some(vec![snapshot()]),
        extra: object(json!({"customKey": {"kept": true, "n": 7}})),
    }
}

/// A `query` mail of `project_id` from `from` to `to` (`None` = broadcast) created at
/// `created_at`.
pub fn mail(
    id: &str,
    project_id: &str,
    from: &str,
    to: Option<&str>,
    created_at: Millis,
) -> MailMessage {
    MailMessage {
        id: id.to_owned(),
        project_id: project_id.to_owned(),
        from_session_id: from.to_owned(),
        to_session_id: to.map(str::to_owned),
        reply_to_mail_id: Some("mail_fixture_parent".to_owned()),
        kind: MailMessageType::Query,
        subject: format!("Subject of {id}"),
        body: json!({"question": "Is it done?", "task_id": "task_fixture", "priority": "high"}),
        created_at,
    }
}

/// An active custom member of `project_id`; `createdAt`/`updatedAt` are the ISO strings of
/// `created_at` (so string order is time order). Every optional field is set, plus an unknown
/// `customKey`.
pub fn team_member(id: &str, project_id: &str, created_at: Millis) -> TeamMember {
    let iso = iso_from_millis(created_at);
    TeamMember {
        id: id.to_owned(),
        project_id: project_id.to_owned(),
        name: format!("Member {id}"),
        role: "Fixture role".to_owned(),
        avatar: "🧪".to_owned(),
        identity: "A careful fixture engineer.".to_owned(),
        model: Some("opus".to_owned()),
        agent_tool: Some(AgentTool::ClaudeCode),
        mode: Some(AgentMode::Execute),
        skill_ids: vec!["skill-a".to_owned()],
        is_default: false,
        status: TeamMemberStatus::Active,
        capabilities: Some(Capabilities {
            can_spawn_sessions: Some(false),
            can_edit_tasks: Some(true),
            can_report_task_level: Some(true),
            can_report_session_level: Some(false),
        }),
        command_permissions: Some(CommandPermissions {
            groups: Some(BTreeMap::from([("task".to_owned(), true)])),
            commands: Some(BTreeMap::from([("session:spawn".to_owned(), false)])),
        }),
        workflow_template_id: Some("custom".to_owned()),
        custom_workflow: Some("1. read\n2. write".to_owned()),
        created_at: iso.clone(),
        updated_at: iso,
        extra: object(json!({"customKey": "kept"})),
    }
}

/// An ordering of `project_id`'s `entity_type`.
pub fn ordering(
    project_id: &str,
    entity_type: EntityType,
    ordered_ids: &[&str],
    updated_at: Millis,
) -> Ordering {
    Ordering {
        project_id: project_id.to_owned(),
        entity_type,
        ordered_ids: ordered_ids.iter().map(|s| (*s).to_owned()).collect(),
        updated_at,
    }
}

/// A heartbeat of `session_id` in `project_id`, seen now.
pub fn heartbeat(session_id: &str, project_id: &str) -> Heartbeat {
    Heartbeat {
        session_id: session_id.to_owned(),
        project_id: project_id.to_owned(),
        last_seen: now_ms(),
    }
}

/// A small event of `project_id` carrying the sequence number `n` (`notify:progress` with
/// `message = n`); see [`event_seq`].
pub fn event(project_id: &str, n: u64) -> DomainEvent {
    DomainEvent::NotifyProgress(ProgressNotice {
        session_id: format!("sess_{project_id}"),
        task_id: None,
        message: Some(n.to_string()),
        project_id: project_id.to_owned(),
    })
}

/// The sequence number of an [`event`] of `project_id`; `None` for any other event.
pub fn event_seq(event: &DomainEvent, project_id: &str) -> Option<u64> {
    match event {
        DomainEvent::NotifyProgress(p) if p.project_id == project_id => {
            p.message.as_deref().and_then(|m| m.parse().ok())
        }
        _ => None,
    }
}
