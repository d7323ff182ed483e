//! `/api/mail` (API.md §7): strictly validated, E3 errors with `details[]`.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use maestro_domain::FieldError;
use maestro_domain::model::{MailMessage, MailMessageType};
use maestro_domain::services::{InboxParams, SendMail, WaitParams};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Part};
use crate::extract::{Path, StrictBody, StrictQuery, num};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    const T: &str = "mail";
    api.add(
        Method::POST,
        "/api/mail",
        T,
        "Send mail (direct, broadcast or to a team member)",
        post(send),
    )
    .add(
        Method::GET,
        "/api/mail/inbox/{id}",
        T,
        "Inbox of a session",
        get(inbox),
    )
    .add(
        Method::GET,
        "/api/mail/wait/{id}",
        T,
        "Long-poll for new mail",
        get(wait),
    )
    .add(Method::GET, "/api/mail/{id}", T, "Get one mail", get(one))
    .add(
        Method::DELETE,
        "/api/mail/{id}",
        T,
        "Delete one mail",
        delete(remove),
    )
}

/// `:id` must be a safe id (400 `Invalid URL parameters`).
fn safe_param(id: &str) -> ApiResult<()> {
    if maestro_domain::validate::is_safe_id(id) {
        Ok(())
    } else {
        Err(ApiError::Schema {
            part: Part::Params,
            details: vec![FieldError::new("id", "must match ^[a-zA-Z0-9_-]+$")],
        })
    }
}

/// A query `projectId` must be a safe id too (API.md #32/#33, 400 `Invalid query parameters`).
fn safe_query_project(project_id: Option<&str>) -> ApiResult<()> {
    match project_id {
        Some(p) if !maestro_domain::validate::is_safe_id(p) => Err(ApiError::Schema {
            part: Part::Query,
            details: vec![FieldError::new("projectId", "must match ^[a-zA-Z0-9_-]+$")],
        }),
        _ => Ok(()),
    }
}

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
pub(crate) fn parse_send(v: &Value) -> Result<SendMail, Vec<FieldError>> {
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
    let mut id = |key: &str, required: bool, nullable: bool| -> Option<String> {
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
    };
    let project_id = id("projectId", true, false);
    let from_session_id = id("fromSessionId", true, false);
    let to_session_id = id("toSessionId", false, true);
    let to_team_member_id = id("toTeamMemberId", false, false);
    let reply_to_mail_id = id("replyToMailId", false, true);
    let kind = match obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(MailMessageType::parse)
    {
        Some(k) => Some(k),
        None => {
            let options = MailMessageType::ALL
                .iter()
                .map(|k| format!("\"{}\"", k.as_str()))
                .collect::<Vec<_>>()
                .join("|");
            errors.push(FieldError::new(
                "type",
                format!("Invalid option: expected one of {options}"),
            ));
            None
        }
    };
    let max = maestro_domain::services::MAX_SUBJECT_CHARS;
    let subject = match obj.get("subject") {
        Some(Value::String(s)) if s.is_empty() => {
            errors.push(FieldError::new(
                "subject",
                "Too small: expected string to have >=1 characters",
            ));
            None
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            errors.push(FieldError::new(
                "subject",
                format!("Too big: expected string to have <={max} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        other => {
            errors.push(FieldError::new(
                "subject",
                format!(
                    "Invalid input: expected string, received {}",
                    received(other)
                ),
            ));
            None
        }
    };
    let body = match obj.get("body") {
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
    };
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

async fn send(s: Scoped, StrictBody(b): StrictBody<Value>) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = parse_send(&b).map_err(|details| ApiError::Schema {
        part: Part::Body,
        details,
    })?;
    let mut sent = s.services().mail.send(input).await?;
    let value = if sent.len() == 1 {
        serde_json::to_value(sent.remove(0))
    } else {
        serde_json::to_value(sent)
    }
    .map_err(|e| ApiError::Domain(maestro_domain::DomainError::Internal(e.to_string())))?;
    Ok((StatusCode::CREATED, Json(value)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InboxQuery {
    project_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<MailMessageType>,
    #[serde(default, deserialize_with = "num::opt_i64")]
    since: Option<i64>,
}

async fn inbox(
    s: Scoped,
    Path(id): Path<String>,
    StrictQuery(q): StrictQuery<InboxQuery>,
) -> ApiResult<Json<Vec<MailMessage>>> {
    safe_param(&id)?;
    safe_query_project(q.project_id.as_deref())?;
    Ok(Json(
        s.services()
            .mail
            .inbox(
                &id,
                &InboxParams {
                    project_id: q.project_id,
                    kind: q.kind,
                    since: q.since,
                },
            )
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WaitQuery {
    project_id: Option<String>,
    #[serde(default, deserialize_with = "num::opt_i64")]
    timeout: Option<i64>,
    #[serde(default, deserialize_with = "num::opt_i64")]
    since: Option<i64>,
}

async fn wait(
    s: Scoped,
    Path(id): Path<String>,
    StrictQuery(q): StrictQuery<WaitQuery>,
) -> ApiResult<Json<Vec<MailMessage>>> {
    safe_param(&id)?;
    safe_query_project(q.project_id.as_deref())?;
    let timeout = match q.timeout {
        None => None,
        Some(t) if (1_000..=120_000).contains(&t) => Some(t as u64),
        Some(_) => {
            return Err(ApiError::Schema {
                part: Part::Query,
                details: vec![FieldError::new(
                    "timeout",
                    "must be between 1000 and 120000",
                )],
            });
        }
    };
    Ok(Json(
        s.services()
            .mail
            .wait(
                &id,
                &WaitParams {
                    project_id: q.project_id,
                    timeout_ms: timeout,
                    since: q.since,
                },
            )
            .await?,
    ))
}

async fn one(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<MailMessage>> {
    safe_param(&id)?;
    Ok(Json(s.services().mail.get(&id).await?))
}

async fn remove(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    safe_param(&id)?;
    s.services().mail.delete(&id).await?;
    Ok(Json(json!({"deleted": true, "id": id})))
}
