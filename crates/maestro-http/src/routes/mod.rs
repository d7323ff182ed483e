//! The route table. Every route is registered through `Api::add`, which records it for the
//! OpenAPI document, so the document cannot miss a route the router serves.

mod api_keys;
mod mail;
mod members;
mod misc;
mod projects;
pub(crate) mod sessions;
mod tasks;
mod team_members;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// axum syntax, e.g. `/api/tasks/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
}

/// Router plus the list of what it serves.
pub struct Api {
    router: Router<AppState>,
    pub operations: Vec<Operation>,
}

impl Api {
    fn new() -> Self {
        Self {
            router: Router::new(),
            operations: Vec::new(),
        }
    }

    /// Registers one method on one path.
    pub(crate) fn add(
        mut self,
        method: Method,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.router = self.router.route(path, handler);
        self.operations.push(Operation {
            method,
            path,
            summary,
            tag,
        });
        self
    }
}

/// Every REST route of the server.
pub fn api() -> Api {
    let api = Api::new();
    let api = misc::routes(api);
    let api = projects::routes(api);
    let api = members::routes(api);
    let api = api_keys::routes(api);
    let api = tasks::routes(api);
    let api = sessions::routes(api);
    let api = mail::routes(api);
    let api = team_members::routes(api);
    api.add(
        Method::GET,
        crate::web::CLIENT_CONFIG_PATH,
        "meta",
        "Public client configuration: the auth mode and the Supabase sign-in settings",
        axum::routing::get(crate::web::client_config),
    )
    .add(
        Method::GET,
        "/api/openapi.json",
        "meta",
        "This OpenAPI document",
        axum::routing::get(openapi_handler),
    )
}

impl Api {
    pub(crate) fn into_router(self) -> Router<AppState> {
        self.router
    }
}

async fn openapi_handler() -> axum::Json<Value> {
    axum::Json(openapi_document(&api().operations))
}

/// An OpenAPI 3.1 document of `operations`.
pub fn openapi_document(operations: &[Operation]) -> Value {
    let mut paths = Map::new();
    for op in operations {
        let oa_path = op.path.to_string();
        let params: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
            })
            .collect();
        let entry = paths
            .entry(oa_path)
            .or_insert_with(|| Value::Object(Map::new()));
        entry[op.method.as_str().to_ascii_lowercase()] = json!({
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": params,
            "responses": {
                "default": {
                    "description": "JSON body; errors are {error, statusCode, code, message, details?}",
                    "content": {"application/json": {"schema": {}}}
                }
            }
        });
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Maestro Server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Coordination API for fleets of AI coding agents (drop-in for the TypeScript maestro-server)."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
    })
}
