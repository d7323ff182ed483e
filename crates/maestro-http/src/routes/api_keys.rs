//! `/api/projects/{id}/api-keys`: long-lived, revocable project keys for agents started
//! outside spawn (owners of the project, or the server's own credentials). The key itself is
//! in the creation answer only; listings show its `hint`.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use maestro_domain::ports::Principal;
use maestro_domain::services::NewApiKey;
use serde::Deserialize;

use crate::answers::{ApiKeyCreated, ApiKeyRevoked, ApiKeyView};
use crate::error::ApiResult;
use crate::extract::{Body, Path};
use crate::routes::Api;
use crate::scope::Scoped;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Method::GET,
        "/api/projects/{id}/api-keys",
        "api-keys",
        "List the project's API keys (never the keys themselves; owners only)",
        get(list),
    ).ok::<Vec<ApiKeyView>>(200)
    .add(
        Method::POST,
        "/api/projects/{id}/api-keys",
        "api-keys",
        "Create an API key for agents of this project, optionally for one team member; the key is shown once (owners only)",
        post(create),
    ).body::<CreateBody>().ok::<ApiKeyCreated>(201).example(serde_json::json!({"name": "CI agent"}))
    .add(
        Method::DELETE,
        "/api/projects/{id}/api-keys/{key_id}",
        "api-keys",
        "Revoke an API key at once (owners only)",
        delete(revoke),
    ).ok::<ApiKeyRevoked>(200)
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ApiKeyCreateRequest")]
struct CreateBody {
    name: Option<String>,
    team_member_id: Option<String>,
}

async fn list(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Vec<ApiKeyView>>> {
    let keys = s.api_key_service()?.list(&id).await?;
    Ok(Json(keys.iter().map(ApiKeyView::from).collect()))
}

async fn create(
    s: Scoped,
    Path(id): Path<String>,
    Body(b): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    let created_by = match s.principal() {
        Principal::User { id, .. } => Some(id.clone()),
        _ => None,
    };
    let (key, secret) = s
        .api_key_service()?
        .create(
            &id,
            NewApiKey {
                name: b.name,
                team_member_id: b.team_member_id,
            },
            created_by,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            info: ApiKeyView::from(&key),
            key: secret,
        }),
    ))
}

async fn revoke(
    s: Scoped,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<Json<ApiKeyRevoked>> {
    let key = s.api_key_service()?.revoke(&id, &key_id).await?;
    Ok(Json(ApiKeyRevoked {
        info: ApiKeyView::from(&key),
        success: true,
    }))
}
