//! Parsing one data file into its record, with the load-time migrations of STORAGE.md §2.

use std::fs;

use maestro_domain::model::{
    EntityType, JsonObject, MailMessage, Ordering, Project, Session, Task, TaskSessionStatus,
    TeamMember,
};
use serde_json::Value;

use super::{Bad, Job, Parsed, file_name};
use crate::layout::{OVERRIDE_SUFFIX, SafeId};
use crate::repo::OrderingEntry;

pub(super) fn parse_job(job: &Job) -> Result<Parsed, Bad> {
    let path = job.path();
    let bytes = fs::read(path).map_err(|e| Bad {
        reason: format!("unreadable: {e}"),
        bytes: None,
    })?;
    let name = file_name(path);
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    let parsed = match job {
        Job::Project(_) => parse_project(&bytes, stem),
        Job::Task { dir_project, .. } => parse_task(&bytes, dir_project.as_deref(), stem),
        Job::Session(_) => parse_session(&bytes, stem),
        Job::Mail(_) => parse_mail(&bytes, stem),
        Job::Ordering(kind, _) => parse_ordering(&bytes, *kind, stem),
        Job::Member { project, .. } => parse_member(&bytes, project, stem),
        Job::Override { project, .. } => parse_override(&bytes, project, &name),
    };
    parsed.map_err(|reason| Bad {
        reason,
        bytes: Some(bytes),
    })
}

fn check_id(field: &str, actual: &str, expected: &str) -> Result<(), String> {
    if SafeId::check(actual).is_none() {
        return Err(format!("{field} {actual:?} is not a safe id"));
    }
    if actual != expected {
        return Err(format!(
            "{field} {actual:?} does not match its path ({expected:?})"
        ));
    }
    Ok(())
}

fn shape<T>(kind: &str, r: serde_json::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("not a valid {kind}: {e}"))
}

fn parse_project(bytes: &[u8], stem: &str) -> Result<Parsed, String> {
    let p: Project = shape("project", serde_json::from_slice(bytes))?;
    check_id("id", &p.id, stem)?;
    Ok(Parsed::Project(p))
}

fn is_team_member_task(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str) == Some("team-member")
}

fn parse_task(bytes: &[u8], dir_project: Option<&str>, stem: &str) -> Result<Parsed, String> {
    let mut task: Task = match serde_json::from_slice(bytes) {
        Ok(t) => t,
        Err(e) => {
            // A legacy team-member task need not have a task's shape; recognise it anyway.
            if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(bytes)
                && is_team_member_task(o.get("taskType"))
            {
                let id = o.get("id").and_then(Value::as_str).unwrap_or(stem);
                return Ok(Parsed::TeamMemberTask(id.to_string()));
            }
            return Err(format!("not a valid task: {e}"));
        }
    };
    if is_team_member_task(task.extra.get("taskType")) {
        return Ok(Parsed::TeamMemberTask(task.id));
    }
    check_id("id", &task.id, stem)?;
    match dir_project {
        Some(dir) => check_id("projectId", &task.project_id, dir)?,
        None => {
            if SafeId::check(&task.project_id).is_none() {
                return Err(format!("projectId {:?} is not a safe id", task.project_id));
            }
        }
    }
    let migrated = migrate_session_status(&mut task);
    Ok(Parsed::Task {
        task: Box::new(task),
        legacy: dir_project.is_none(),
        migrated,
    })
}

/// Legacy `sessionStatus` → `taskSessionStatuses[<first sessionId>]` (dropped when the task has
/// no session). An existing entry wins; an unknown value stays where it was.
fn migrate_session_status(task: &mut Task) -> bool {
    let Some(value) = task.extra.get("sessionStatus").cloned() else {
        return false;
    };
    let parsed = value.as_str().and_then(TaskSessionStatus::parse);
    if parsed.is_none() && !value.is_null() {
        tracing::warn!(task_id = %task.id, value = %value, "legacy sessionStatus has an unknown value; kept as is");
        return false;
    }
    task.extra.shift_remove("sessionStatus");
    if let (Some(status), Some(first)) = (parsed, task.session_ids.first()) {
        task.task_session_statuses
            .entry(first.clone())
            .or_insert(status);
    }
    true
}

fn parse_session(bytes: &[u8], stem: &str) -> Result<Parsed, String> {
    let Value::Object(mut o) = shape("session", serde_json::from_slice::<Value>(bytes))? else {
        return Err("not a valid session: not a JSON object".into());
    };
    let mut changed = false;
    if !o.contains_key("taskIds") {
        let ids = match o.shift_remove("taskId") {
            Some(Value::String(t)) => vec![Value::String(t)],
            _ => Vec::new(),
        };
        o.insert("taskIds".into(), Value::Array(ids));
        changed = true;
    }
    for (key, empty) in [
        ("env", Value::Object(JsonObject::new())),
        ("events", Value::Array(Vec::new())),
        ("timeline", Value::Array(Vec::new())),
        ("docs", Value::Array(Vec::new())),
    ] {
        if !o.contains_key(key) {
            o.insert(key.into(), empty);
            changed = true;
        }
    }
    if !o.contains_key("name") {
        let id = o.get("id").and_then(Value::as_str).unwrap_or(stem);
        let name = format!("Session {id}");
        o.insert("name".into(), Value::String(name));
        changed = true;
    }
    if o.shift_remove("strategy").is_some() {
        changed = true;
    }
    let session: Session = shape("session", serde_json::from_value(Value::Object(o)))?;
    check_id("id", &session.id, stem)?;
    Ok(Parsed::Session {
        session: Box::new(session),
        changed,
    })
}

fn parse_mail(bytes: &[u8], stem: &str) -> Result<Parsed, String> {
    let m: MailMessage = shape("mail message", serde_json::from_slice(bytes))?;
    check_id("id", &m.id, stem)?;
    Ok(Parsed::Mail(m))
}

const ORDERING_KEYS: [&str; 4] = ["projectId", "entityType", "orderedIds", "updatedAt"];

fn parse_ordering(bytes: &[u8], kind: EntityType, stem: &str) -> Result<Parsed, String> {
    let Value::Object(o) = shape("ordering", serde_json::from_slice::<Value>(bytes))? else {
        return Err("not a valid ordering: not a JSON object".into());
    };
    let extra: JsonObject = o
        .iter()
        .filter(|(k, _)| !ORDERING_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ordering: Ordering = shape("ordering", serde_json::from_value(Value::Object(o)))?;
    check_id("projectId", &ordering.project_id, stem)?;
    if ordering.entity_type != kind {
        return Err(format!(
            "entityType {:?} does not match its folder ({:?})",
            ordering.entity_type.as_str(),
            kind.as_str()
        ));
    }
    Ok(Parsed::Ordering(OrderingEntry { ordering, extra }))
}

fn parse_member(bytes: &[u8], project: &str, stem: &str) -> Result<Parsed, String> {
    let m: TeamMember = shape("team member", serde_json::from_slice(bytes))?;
    check_id("id", &m.id, stem)?;
    check_id("projectId", &m.project_id, project)?;
    Ok(Parsed::Member(Box::new(m)))
}

fn parse_override(bytes: &[u8], project: &str, name: &str) -> Result<Parsed, String> {
    let Some(id) = name.strip_suffix(OVERRIDE_SUFFIX) else {
        return Err(format!("override file name must be <id>{OVERRIDE_SUFFIX}"));
    };
    if SafeId::check(id).is_none() {
        return Err(format!("override id {id:?} is not a safe id"));
    }
    let Value::Object(value) = shape("override", serde_json::from_slice::<Value>(bytes))? else {
        return Err("not a valid override: not a JSON object".into());
    };
    Ok(Parsed::Override {
        project: project.to_string(),
        id: id.to_string(),
        value,
    })
}
