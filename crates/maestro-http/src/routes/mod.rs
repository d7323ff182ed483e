//! The route table. Every route is registered through `Api::add`, which records it for the
//! OpenAPI document, so the document cannot miss a route the router serves; `body`, `query`,
//! `ok` and `example` right after it give the schemas of the very types its handler parses
//! and renders (`crate::openapi` builds the document).

mod api_keys;
mod inbox;
mod mail;
mod members;
mod misc;
mod projects;
mod push;
pub(crate) mod sessions;
mod tasks;
mod team_members;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use crate::state::AppState;

/// Adds `T`'s schema to a generator and returns it (a `$ref` for named types).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

fn inline_schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    T::json_schema(g)
}

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// axum syntax, e.g. `/api/tasks/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// The JSON body the handler parses.
    pub body: Option<SchemaFn>,
    /// The query string the handler parses (an object schema, inlined into parameters).
    pub query: Option<SchemaFn>,
    /// The success status and the body the handler renders.
    pub ok: Option<(u16, SchemaFn)>,
    /// An example request body.
    pub example: Option<Value>,
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
            body: None,
            query: None,
            ok: None,
            example: None,
        });
        self
    }

    fn last(&mut self) -> &mut Operation {
        // `add` always comes first: the builder methods below follow it.
        let n = self.operations.len();
        &mut self.operations[n.saturating_sub(1)]
    }

    /// The last added route parses a JSON body of type `T`.
    pub(crate) fn body<T: JsonSchema>(mut self) -> Self {
        self.last().body = Some(schema_of::<T>);
        self
    }

    /// The last added route parses a query string of type `T`.
    pub(crate) fn query<T: JsonSchema>(mut self) -> Self {
        self.last().query = Some(inline_schema_of::<T>);
        self
    }

    /// The last added route answers `status` with a body of type `T`.
    pub(crate) fn ok<T: JsonSchema>(mut self, status: u16) -> Self {
        self.last().ok = Some((status, schema_of::<T>));
        self
    }

    /// An example body of the last added route.
    pub(crate) fn example(mut self, v: Value) -> Self {
        self.last().example = Some(v);
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
    let api = push::routes(api);
    let api = inbox::routes(api);
    let api = team_members::routes(api);
    api.add(
        Method::GET,
        crate::web::CLIENT_CONFIG_PATH,
        "meta",
        "Public client configuration: the auth mode and the Supabase sign-in settings",
        axum::routing::get(crate::web::client_config),
    )
    .ok::<crate::answers::ClientConfig>(200)
    .add(
        Method::GET,
        "/api/openapi.json",
        "meta",
        "This OpenAPI document",
        axum::routing::get(openapi_handler),
    )
    .ok::<Value>(200)
}

impl Api {
    pub(crate) fn into_router(self) -> Router<AppState> {
        self.router
    }
}

async fn openapi_handler() -> axum::Json<Value> {
    axum::Json(crate::openapi::document(&api().operations))
}
