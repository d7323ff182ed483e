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

fn body_error(path: &str, message: impl Into<String>) -> ApiError {
    ApiError::Schema {
        part: Part::Body,
        details: vec![FieldError::new(path, message)],
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SendBody {
    project_id: String,
    from_session_id: String,
    #[serde(default)]
    to_session_id: Option<String>,
    #[serde(default)]
    to_team_member_id: Option<String>,
    #[serde(default)]
    reply_to_mail_id: Option<String>,
    #[serde(rename = "type")]
    kind: MailMessageType,
    subject: String,
    #[serde(default)]
    body: Option<Value>,
}

async fn send(
    s: Scoped,
    StrictBody(b): StrictBody<SendBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    for (field, v) in [
        ("projectId", Some(&b.project_id)),
        ("fromSessionId", Some(&b.from_session_id)),
        ("toSessionId", b.to_session_id.as_ref()),
        ("toTeamMemberId", b.to_team_member_id.as_ref()),
        ("replyToMailId", b.reply_to_mail_id.as_ref()),
    ] {
        if let Some(v) = v
            && !maestro_domain::validate::is_safe_id(v)
        {
            return Err(body_error(field, "must match ^[a-zA-Z0-9_-]+$"));
        }
    }
    let chars = b.subject.chars().count();
    if chars == 0 || chars > maestro_domain::services::MAX_SUBJECT_CHARS {
        return Err(body_error("subject", "must be 1-500 characters"));
    }
    if b.body.as_ref().is_some_and(|v| !v.is_object()) {
        return Err(body_error("body", "must be an object"));
    }
    let mut sent = s
        .services()
        .mail
        .send(SendMail {
            project_id: b.project_id,
            from_session_id: b.from_session_id,
            to_session_id: b.to_session_id.filter(|t| !t.is_empty()),
            to_team_member_id: b.to_team_member_id,
            reply_to_mail_id: b.reply_to_mail_id,
            kind: b.kind,
            subject: b.subject,
            body: b.body,
        })
        .await?;
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
