//! `/api/mail` (API.md §7): strictly validated, E3 errors with `details[]`.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use maestro_domain::FieldError;
use maestro_domain::model::{MailMessage, MailMessageType};
use maestro_domain::services::{InboxParams, WaitParams};
use serde::Deserialize;
use serde_json::Value;

use crate::answers::{MailDeleted, MailSent};
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
    ).body::<crate::requests::SendMailSchema>().ok::<MailSent>(201).example(serde_json::json!({"projectId": "proj_1", "fromSessionId": "sess_1", "toSessionId": "sess_2", "type": "query", "subject": "Review?", "body": {"question": "ready?"}}))
    .add(
        Method::GET,
        "/api/mail/inbox/{id}",
        T,
        "Inbox of a session",
        get(inbox),
    ).query::<InboxQuery>().ok::<Vec<MailMessage>>(200)
    .add(
        Method::GET,
        "/api/mail/wait/{id}",
        T,
        "Long-poll for new mail",
        get(wait),
    ).query::<WaitQuery>().ok::<Vec<MailMessage>>(200)
    .add(Method::GET, "/api/mail/{id}", T, "Get one mail", get(one)).ok::<MailMessage>(200)
    .add(
        Method::DELETE,
        "/api/mail/{id}",
        T,
        "Delete one mail",
        delete(remove),
    ).ok::<MailDeleted>(200)
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

async fn send(
    s: Scoped,
    StrictBody(b): StrictBody<Value>,
) -> ApiResult<(StatusCode, Json<MailSent>)> {
    let input = crate::requests::send_mail(&b).map_err(|details| ApiError::Schema {
        part: Part::Body,
        details,
    })?;
    let sent = s.services().mail.send(input).await?;
    Ok((StatusCode::CREATED, Json(MailSent::from(sent))))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "MailInboxQuery")]
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

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "MailWaitQuery")]
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

async fn remove(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<MailDeleted>> {
    safe_param(&id)?;
    s.services().mail.delete(&id).await?;
    Ok(Json(MailDeleted { deleted: true, id }))
}
