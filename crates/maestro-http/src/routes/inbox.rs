//! `GET /api/inbox`: the person's inbox across every project the caller may read (issue 27):
//! waiting agents, pending approvals, failed sessions, and mail to the person with the
//! projects' broadcasts ([`Services::person_inbox`]).
//!
//! [`Services::person_inbox`]: maestro_domain::services::Services::person_inbox

use axum::Json;
use axum::http::Method;
use axum::routing::get;
use maestro_domain::services::{InboxQuery, PersonInbox};
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{StrictQuery, num};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Method::GET,
        "/api/inbox",
        "inbox",
        "The person's inbox across the caller's projects: agents waiting for an answer (oldest first), pending approvals, failed sessions and mail to mobile-user with broadcasts (newest first; ?since=<ms>, default the last week)",
        get(inbox),
    )
    .query::<InboxParams>()
    .ok::<PersonInbox>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "PersonInboxQuery")]
struct InboxParams {
    /// Failures and mail after this time (ms since the epoch); default: the last week.
    #[serde(default, deserialize_with = "num::opt_i64")]
    since: Option<i64>,
}

async fn inbox(
    s: Scoped,
    StrictQuery(q): StrictQuery<InboxParams>,
) -> ApiResult<Json<PersonInbox>> {
    let agents = s.agent_service();
    let inbox = s
        .services()
        .person_inbox(&agents, &InboxQuery { since: q.since })
        .await?;
    Ok(Json(inbox))
}
