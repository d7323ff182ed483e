//! `/api/projects/{id}/members`: who a project is shared with (owners manage; everybody on
//! the project reads; a member may remove themself).

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use maestro_domain::model::ProjectMember;
use maestro_domain::services::{Actor, AddMember};
use serde::Deserialize;

use crate::answers::MemberRemoved;
use crate::error::ApiResult;
use crate::extract::{Body, Path};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Method::GET,
        "/api/projects/{id}/members",
        "members",
        "List a project's members and their roles",
        get(list),
    ).ok::<Vec<ProjectMember>>(200)
    .add(
        Method::POST,
        "/api/projects/{id}/members",
        "members",
        "Share the project with a user (by userId or email) as owner, editor or viewer (owners only)",
        post(add),
    ).body::<AddBody>().ok::<ProjectMember>(201).example(serde_json::json!({"email": "bob@example.com", "role": "editor"}))
    .add(
        Method::PATCH,
        "/api/projects/{id}/members/{user_id}",
        "members",
        "Change a member's role (owners only; the last owner stays)",
        patch(set_role),
    ).body::<RoleBody>().ok::<ProjectMember>(200)
    .add(
        Method::DELETE,
        "/api/projects/{id}/members/{user_id}",
        "members",
        "Remove a member (owners, or the member leaving; the last owner stays)",
        delete(remove),
    ).ok::<MemberRemoved>(200)
}

/// The membership actor of a request's principal on `project_id` (the domain's rule refuses
/// agents' credentials).
fn actor(s: &Scoped, project_id: &str) -> ApiResult<Actor> {
    Ok(Actor::of(s.principal(), project_id)?)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "MemberAddRequest")]
struct AddBody {
    user_id: Option<String>,
    email: Option<String>,
    role: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "MemberRoleRequest")]
struct RoleBody {
    role: Option<String>,
}

async fn list(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Vec<ProjectMember>>> {
    let actor = actor(&s, &id)?;
    Ok(Json(s.member_service()?.list(&actor, &id).await?))
}

async fn add(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<AddBody>,
) -> ApiResult<(StatusCode, Json<ProjectMember>)> {
    let actor = actor(&s, &id)?;
    let member = s
        .member_service()?
        .add(
            &actor,
            &id,
            AddMember {
                user_id: b.user_id,
                email: b.email,
                role: b.role,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

async fn set_role(
    s: Scoped,
    Path((id, user_id)): Path<(String, String)>,
    Body(b): Body<RoleBody>,
) -> ApiResult<Json<ProjectMember>> {
    let actor = actor(&s, &id)?;
    let member = s
        .member_service()?
        .set_role(&actor, &id, &user_id, b.role.as_deref())
        .await?;
    Ok(Json(member))
}

async fn remove(
    s: Scoped,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<MemberRemoved>> {
    let actor = actor(&s, &id)?;
    s.member_service()?.remove(&actor, &id, &user_id).await?;
    Ok(Json(MemberRemoved {
        success: true,
        project_id: id,
        user_id,
    }))
}
