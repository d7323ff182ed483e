//! The typed requests both transports parse: REST handlers and Socket.IO handlers of the same
//! use case read their JSON through the same function here, then call the same service
//! method. Each returns the domain's input type, or the field errors in the spec's shape.

use maestro_domain::FieldError;
use maestro_domain::model::MailMessageType;
use maestro_domain::services::{SendMail, SpawnInput};
use serde_json::Value;

/// Keys of `POST /api/mail`, in the original schema's order.
const SEND_KEYS: [&str; 8] = [
    "projectId",
    "fromSessionId",
    "toSessionId",
    "toTeamMemberId",
    "replyToMailId",
    "type",
    "subject",
    "body",
];

/// The JSON type name the original's validator reports (`received …`).
fn received(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// Validates a `POST /api/mail` body as the original's schema does, reporting **every**
/// missing or invalid field (schema order, unknown keys last) with its messages.
pub fn send_mail(v: &Value) -> Result<SendMail, Vec<FieldError>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![FieldError::new(
            "",
            format!(
                "Invalid input: expected object, received {}",
                received(Some(v))
            ),
        )]);
    };
    let mut errors = Vec::new();
    let e = &mut errors;
    let project_id = mail_id(obj, "projectId", true, false, e);
    let from_session_id = mail_id(obj, "fromSessionId", true, false, e);
    let to_session_id = mail_id(obj, "toSessionId", false, true, e);
    let to_team_member_id = mail_id(obj, "toTeamMemberId", false, false, e);
    let reply_to_mail_id = mail_id(obj, "replyToMailId", false, true, e);
    let kind = mail_type(obj, e);
    let subject = mail_subject(obj, e);
    let body = mail_body(obj, e);
    unknown_keys(obj, e);
    match (project_id, from_session_id, kind, subject) {
        (Some(project_id), Some(from_session_id), Some(kind), Some(subject))
            if errors.is_empty() =>
        {
            Ok(SendMail {
                project_id,
                from_session_id,
                to_session_id: to_session_id.filter(|t| !t.is_empty()),
                to_team_member_id,
                reply_to_mail_id,
                kind,
                subject,
                body,
            })
        }
        _ => Err(errors),
    }
}

type Object = serde_json::Map<String, Value>;

/// An id field of a mail: absent (when not `required`), `null` (when `nullable`) or a safe id.
fn mail_id(
    obj: &Object,
    key: &str,
    required: bool,
    nullable: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(key) {
        None if !required => None,
        Some(Value::Null) if nullable => None,
        Some(Value::String(s)) if maestro_domain::validate::is_safe_id(s) => Some(s.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                key,
                "ID must be alphanumeric with hyphens/underscores only",
            ));
            None
        }
        other => {
            errors.push(FieldError::new(
                key,
                format!(
                    "Invalid input: expected string, received {}",
                    received(other)
                ),
            ));
            None
        }
    }
}

fn mail_type(obj: &Object, errors: &mut Vec<FieldError>) -> Option<MailMessageType> {
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(MailMessageType::parse);
    if kind.is_none() {
        let options = MailMessageType::ALL
            .iter()
            .map(|k| format!("\"{}\"", k.as_str()))
            .collect::<Vec<_>>()
            .join("|");
        errors.push(FieldError::new(
            "type",
            format!("Invalid option: expected one of {options}"),
        ));
    }
    kind
}

fn mail_subject(obj: &Object, errors: &mut Vec<FieldError>) -> Option<String> {
    let max = maestro_domain::services::MAX_SUBJECT_CHARS;
    let problem = match obj.get("subject") {
        Some(Value::String(s)) if s.is_empty() => {
            "Too small: expected string to have >=1 characters".to_string()
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            format!("Too big: expected string to have <={max} characters")
        }
        Some(Value::String(s)) => return Some(s.clone()),
        other => format!(
            "Invalid input: expected string, received {}",
            received(other)
        ),
    };
    errors.push(FieldError::new("subject", problem));
    None
}

fn mail_body(obj: &Object, errors: &mut Vec<FieldError>) -> Option<Value> {
    match obj.get("body") {
        None => None,
        Some(b @ Value::Object(_)) => Some(b.clone()),
        other => {
            errors.push(FieldError::new(
                "body",
                format!(
                    "Invalid input: expected record, received {}",
                    received(other)
                ),
            ));
            None
        }
    }
}

/// Keys a mail may not carry (the original's strict schema).
fn unknown_keys(obj: &Object, errors: &mut Vec<FieldError>) {
    let unknown: Vec<String> = obj
        .keys()
        .filter(|k| !SEND_KEYS.contains(&k.as_str()))
        .map(|k| format!("\"{k}\""))
        .collect();
    match unknown.len() {
        0 => {}
        1 => errors.push(FieldError::new(
            "",
            format!("Unrecognized key: {}", unknown[0]),
        )),
        _ => errors.push(FieldError::new(
            "",
            format!("Unrecognized keys: {}", unknown.join(", ")),
        )),
    }
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn texts(v: &Value, k: &str) -> Option<Vec<String>> {
    v.get(k)?
        .as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// A spawn request (`POST /api/sessions/spawn`, Socket.IO `session:spawn`), parsed leniently
/// so each bad field gets its own spawn code from the service.
pub fn spawn(b: &Value) -> SpawnInput {
    let enum_text = |k: &str| match b.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    SpawnInput {
        project_id: text(b, "projectId"),
        task_ids: texts(b, "taskIds"),
        mode: enum_text("mode"),
        spawn_source: enum_text("spawnSource"),
        session_id: text(b, "sessionId"),
        session_name: text(b, "sessionName"),
        skills: texts(b, "skills"),
        context: b.get("context").and_then(Value::as_object).cloned(),
        team_member_id: text(b, "teamMemberId"),
        team_member_ids: texts(b, "teamMemberIds"),
        delegate_team_member_ids: texts(b, "delegateTeamMemberIds"),
        agent_tool: enum_text("agentTool"),
        model: text(b, "model"),
    }
}

/// Session ids of a subscription: `["a","b"]`, `{"sessionIds": [...]}` or `[["a","b"]]`;
/// non-strings are dropped, duplicates removed (first occurrence kept).
pub fn session_ids(d: Option<&Value>) -> Vec<String> {
    let list = match d {
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_array() => a[0].as_array(),
        Some(Value::Array(a)) => Some(a),
        Some(Value::Object(o)) => o.get("sessionIds").and_then(Value::as_array),
        _ => None,
    };
    let mut seen = std::collections::BTreeSet::new();
    list.map(|l| {
        l.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .filter(|id| seen.insert(id.clone()))
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_ids_accept_the_three_shapes() {
        assert_eq!(session_ids(Some(&json!(["a", "b", "a"]))), ["a", "b"]);
        assert_eq!(session_ids(Some(&json!([["a"]]))), ["a"]);
        assert_eq!(session_ids(Some(&json!({"sessionIds": ["x", 1]}))), ["x"]);
        assert!(session_ids(Some(&json!("a"))).is_empty());
    }
}

/// The schema of `POST /api/mail` ([`send_mail`] parses it field by field, to report every
/// error as the original does): strict, unknown keys are refused.
#[derive(schemars::JsonSchema)]
#[schemars(rename = "SendMailRequest", deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SendMailSchema {
    /// Safe id (`^[a-zA-Z0-9_-]+$`).
    #[schemars(regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    project_id: String,
    #[schemars(regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    from_session_id: String,
    /// The recipient; `null` or absent: a broadcast to the project.
    #[schemars(regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    to_session_id: Option<String>,
    /// Every active session of this team member (one message each; the answer is then an
    /// array when there are several).
    #[schemars(regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    to_team_member_id: Option<String>,
    #[schemars(regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    reply_to_mail_id: Option<String>,
    #[serde(rename = "type")]
    kind: MailMessageType,
    #[schemars(length(min = 1, max = 500))]
    subject: String,
    body: Option<serde_json::Map<String, Value>>,
}

/// The schema of a spawn request ([`spawn`] parses it leniently; the spawn service reports
/// each bad field with its own code).
#[derive(schemars::JsonSchema)]
#[schemars(rename = "SpawnRequest")]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SpawnSchema {
    project_id: String,
    /// At least one task of the project.
    task_ids: Vec<String>,
    /// `execute` (default) or `coordinate`.
    mode: Option<maestro_domain::model::AgentMode>,
    /// `ui` (default) or `session` (then `sessionId` is the spawning session).
    spawn_source: Option<maestro_domain::model::SpawnSource>,
    session_id: Option<String>,
    session_name: Option<String>,
    skills: Option<Vec<String>>,
    context: Option<serde_json::Map<String, Value>>,
    team_member_id: Option<String>,
    team_member_ids: Option<Vec<String>>,
    delegate_team_member_ids: Option<Vec<String>>,
    /// `claude-code`, `codex` or `gemini`.
    agent_tool: Option<maestro_domain::model::AgentTool>,
    model: Option<String>,
}
