//! `/api/projects` (API.md §4).

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use maestro_domain::model::Project;
use maestro_domain::services::{NewProject, ProjectPatch};
use serde::Deserialize;

use crate::answers::Deleted;

use crate::error::ApiResult;
use crate::extract::{Body, Path};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Method::GET,
        "/api/projects",
        "projects",
        "List projects",
        get(list),
    )
    .ok::<Vec<Project>>(200)
    .add(
        Method::POST,
        "/api/projects",
        "projects",
        "Create a project",
        post(create),
    )
    .body::<ProjectBody>()
    .ok::<Project>(201)
    .example(serde_json::json!({"name": "Demo", "workingDir": "/home/me/demo"}))
    .add(
        Method::GET,
        "/api/projects/{id}",
        "projects",
        "Get a project",
        get(one),
    )
    .ok::<Project>(200)
    .add(
        Method::PUT,
        "/api/projects/{id}",
        "projects",
        "Update name, workingDir, description",
        put(update),
    )
    .body::<ProjectBody>()
    .ok::<Project>(200)
    .add(
        Method::DELETE,
        "/api/projects/{id}",
        "projects",
        "Delete an empty project",
        delete(remove),
    )
    .ok::<Deleted>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ProjectRequest")]
struct ProjectBody {
    name: Option<String>,
    working_dir: Option<String>,
    description: Option<String>,
}

async fn list(s: Scoped) -> ApiResult<Json<Vec<Project>>> {
    Ok(Json(s.services().projects.list().await?))
}

async fn create(s: Scoped, Body(b): Body<ProjectBody>) -> ApiResult<(StatusCode, Json<Project>)> {
    let p = s
        .services()
        .projects
        .create(NewProject {
            name: b.name,
            working_dir: b.working_dir,
            description: b.description,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

async fn one(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Project>> {
    Ok(Json(s.services().projects.get(&id).await?))
}

async fn update(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<ProjectBody>,
) -> ApiResult<Json<Project>> {
    let p = s
        .services()
        .projects
        .update(
            &id,
            ProjectPatch {
                name: b.name,
                working_dir: b.working_dir,
                description: b.description,
            },
        )
        .await?;
    Ok(Json(p))
}

async fn remove(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Deleted>> {
    s.services().projects.delete(&id).await?;
    // Its API keys go with it (a key of a missing project is refused anyway).
    if let Some(keys) = s.state().api_keys()
        && let Err(e) = keys.forget_project(&id).await
    {
        tracing::warn!(project = %id, error = %e, "could not remove a deleted project's API keys");
    }
    Ok(Json(Deleted::new(id)))
}
