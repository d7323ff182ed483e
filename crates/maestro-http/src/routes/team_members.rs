//! `/api/team-members` (API.md §10). `projectId` comes from the query (GET, DELETE) or the
//! body (PATCH, archive, unarchive, reset).

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, patch, post};
use maestro_domain::DomainError;
use maestro_domain::model::{
    AgentMode, AgentTool, Capabilities, CommandPermissions, TeamMember, TeamMemberStatus,
};
use maestro_domain::services::{NewTeamMember, TeamMemberPatch};
use serde::Deserialize;

use crate::answers::Deleted;
use crate::error::ApiResult;
use crate::extract::{Body, Path, Query};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    const T: &str = "team-members";
    api.add(
        Method::GET,
        "/api/team-members",
        T,
        "List team members of a project",
        get(list),
    ).query::<ProjectQuery>().ok::<Vec<TeamMember>>(200)
    .add(
        Method::POST,
        "/api/team-members",
        T,
        "Create a custom team member",
        post(create),
    ).body::<MemberBody>().ok::<TeamMember>(201).example(serde_json::json!({"projectId": "proj_1", "name": "Reviewer", "role": "Reviews pull requests", "avatar": "🦉"}))
    .add(
        Method::GET,
        "/api/team-members/{id}",
        T,
        "Get a team member",
        get(one),
    ).query::<ProjectQuery>().ok::<TeamMember>(200)
    .add(
        Method::PATCH,
        "/api/team-members/{id}",
        T,
        "Update a team member",
        patch(update),
    ).body::<MemberBody>().ok::<TeamMember>(200)
    .add(
        Method::DELETE,
        "/api/team-members/{id}",
        T,
        "Delete an archived custom member",
        delete(remove),
    ).query::<ProjectQuery>().ok::<Deleted>(200)
    .add(
        Method::POST,
        "/api/team-members/{id}/archive",
        T,
        "Archive a custom member",
        post(archive),
    ).body::<ProjectBody>().ok::<TeamMember>(200)
    .add(
        Method::POST,
        "/api/team-members/{id}/unarchive",
        T,
        "Unarchive a custom member",
        post(unarchive),
    ).body::<ProjectBody>().ok::<TeamMember>(200)
    .add(
        Method::POST,
        "/api/team-members/{id}/reset",
        T,
        "Reset a default member",
        post(reset),
    ).body::<ProjectBody>().ok::<TeamMember>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TeamMemberProjectQuery")]
struct ProjectQuery {
    project_id: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TeamMemberProjectRequest")]
struct ProjectBody {
    project_id: Option<String>,
}

fn from_query(q: ProjectQuery) -> ApiResult<String> {
    q.project_id.filter(|p| !p.is_empty()).ok_or_else(|| {
        DomainError::invalid_field("projectId", "projectId query parameter is required").into()
    })
}

fn from_body(p: Option<String>) -> ApiResult<String> {
    p.filter(|p| !p.is_empty()).ok_or_else(|| {
        DomainError::invalid_field("projectId", "projectId is required in request body").into()
    })
}

async fn list(s: Scoped, Query(q): Query<ProjectQuery>) -> ApiResult<Json<Vec<TeamMember>>> {
    let project = from_query(q)?;
    Ok(Json(s.services().team_members.list(&project).await?))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "TeamMemberRequest")]
struct MemberBody {
    project_id: Option<String>,
    name: Option<String>,
    role: Option<String>,
    avatar: Option<String>,
    identity: Option<String>,
    model: Option<String>,
    agent_tool: Option<AgentTool>,
    mode: Option<AgentMode>,
    skill_ids: Option<Vec<String>>,
    status: Option<TeamMemberStatus>,
    capabilities: Option<Capabilities>,
    command_permissions: Option<CommandPermissions>,
    workflow_template_id: Option<String>,
    custom_workflow: Option<String>,
}

async fn create(s: Scoped, Body(b): Body<MemberBody>) -> ApiResult<(StatusCode, Json<TeamMember>)> {
    let m = s
        .services()
        .team_members
        .create(NewTeamMember {
            project_id: b.project_id,
            name: b.name,
            role: b.role,
            avatar: b.avatar,
            identity: b.identity,
            model: b.model,
            agent_tool: b.agent_tool,
            mode: b.mode,
            skill_ids: b.skill_ids,
            capabilities: b.capabilities,
            command_permissions: b.command_permissions,
            workflow_template_id: b.workflow_template_id,
            custom_workflow: b.custom_workflow,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

async fn one(
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<ProjectQuery>,
) -> ApiResult<Json<TeamMember>> {
    let project = from_query(q)?;
    Ok(Json(s.services().team_members.get(&project, &id).await?))
}

async fn update(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<MemberBody>,
) -> ApiResult<Json<TeamMember>> {
    let project = from_body(b.project_id)?;
    let m = s
        .services()
        .team_members
        .update(
            &project,
            &id,
            TeamMemberPatch {
                name: b.name,
                role: b.role,
                identity: b.identity,
                avatar: b.avatar,
                model: b.model,
                agent_tool: b.agent_tool,
                mode: b.mode,
                skill_ids: b.skill_ids,
                status: b.status,
                capabilities: b.capabilities,
                command_permissions: b.command_permissions,
                workflow_template_id: b.workflow_template_id,
                custom_workflow: b.custom_workflow,
            },
        )
        .await?;
    Ok(Json(m))
}

async fn remove(
    s: Scoped,
    Path(id): Path<String>,
    Query(q): Query<ProjectQuery>,
) -> ApiResult<Json<Deleted>> {
    let project = from_query(q)?;
    s.services().team_members.delete(&project, &id).await?;
    Ok(Json(Deleted::new(id)))
}

async fn archive(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ProjectBody>,
) -> ApiResult<Json<TeamMember>> {
    let project = from_body(b.project_id)?;
    Ok(Json(
        s.services().team_members.archive(&project, &id).await?,
    ))
}

async fn unarchive(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ProjectBody>,
) -> ApiResult<Json<TeamMember>> {
    let project = from_body(b.project_id)?;
    Ok(Json(
        s.services().team_members.unarchive(&project, &id).await?,
    ))
}

async fn reset(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ProjectBody>,
) -> ApiResult<Json<TeamMember>> {
    let project = from_body(b.project_id)?;
    Ok(Json(s.services().team_members.reset(&project, &id).await?))
}
