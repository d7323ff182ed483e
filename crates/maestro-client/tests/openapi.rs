//! The client's request bodies checked against the server's OpenAPI document: for every route
//! that takes a body, each key the client can send is documented, with the same JSON type,
//! and every key the server requires is one the client always sends. A route whose body is
//! not covered here fails the test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use maestro_client::requests::*;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::Value;

fn generator() -> SchemaGenerator {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.into_generator()
}

/// Follows `$ref`s into `components`.
fn resolve<'a>(mut schema: &'a Value, components: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        schema = &components["schemas"][name];
    }
    schema
}

fn keys(v: &Value, field: &str) -> BTreeSet<String> {
    match &v[field] {
        Value::Object(o) => o.keys().cloned().collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|k| k.as_str().map(String::from))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The JSON types a property schema allows, when it says so directly (`type`).
fn types(v: &Value) -> Option<BTreeSet<String>> {
    match v.get("type")? {
        Value::String(t) => Some([t.clone()].into()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect(),
        ),
        _ => None,
    }
}

struct Check {
    route: &'static str,
    schema: fn(&mut SchemaGenerator) -> Schema,
}

fn of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

macro_rules! checks {
    ($($route:literal => $ty:ty),+ $(,)?) => {
        vec![$(Check { route: $route, schema: of::<$ty> }),+]
    };
}

#[test]
fn client_request_bodies_match_the_openapi_document() {
    let doc = maestro_http::openapi::document(&maestro_http::routes::api().operations);
    let server_components = &doc["components"];
    let checks = checks![
        "POST /api/projects" => ProjectInput,
        "PUT /api/projects/{id}" => ProjectInput,
        "POST /api/projects/{id}/members" => AddMember,
        "POST /api/projects/{id}/api-keys" => NewApiKey,
        "POST /api/push/subscriptions" => NewPushSubscription,
        "POST /api/tasks" => NewTask,
        "PATCH /api/tasks/{id}" => TaskPatch,
        "POST /api/tasks/{id}/timeline" => TaskTimelineInput,
        "POST /api/tasks/{id}/claim" => ClaimTask,
        "POST /api/sessions" => NewSession,
        "PATCH /api/sessions/{id}" => SessionPatch,
        "POST /api/sessions/{id}/events" => SessionEventInput,
        "POST /api/sessions/{id}/timeline" => SessionTimelineInput,
        "POST /api/sessions/{id}/docs" => DocInput,
        "POST /api/sessions/{id}/modal" => ShowModal,
        "POST /api/sessions/{id}/modal/{modal_id}/actions" => ModalAction,
        "POST /api/sessions/spawn" => SpawnRequest,
        "POST /api/mail" => SendMail,
        "POST /api/team-members" => NewTeamMember,
        "PATCH /api/team-members/{id}" => TeamMemberPatch,
    ];
    // Bodies the client writes inline (`json!`), with their keys.
    let inline: &[(&str, &[&str])] = &[
        ("PATCH /api/projects/{id}/members/{user_id}", &["role"]),
        (
            "PUT /api/ordering/{entity_type}/{project_id}",
            &["orderedIds"],
        ),
        ("POST /api/team-members/{id}/archive", &["projectId"]),
        ("POST /api/sessions/{id}/reply", &["message"]),
        ("POST /api/team-members/{id}/unarchive", &["projectId"]),
        ("POST /api/team-members/{id}/reset", &["projectId"]),
    ];

    let body_of = |route: &str| -> &Value {
        let (method, path) = route.split_once(' ').unwrap();
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{route} is not in the document");
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{route}: the document has no request body"
        );
        resolve(schema, server_components)
    };

    let mut problems = Vec::new();
    let mut covered = BTreeSet::new();
    let mut g = generator();
    for c in &checks {
        covered.insert(c.route.to_string());
        let client_ref = (c.schema)(&mut g).to_value();
        let client_components = serde_json::json!({"schemas": g.definitions().clone()});
        let client = resolve(&client_ref, &client_components);
        let server = body_of(c.route);
        let (client_keys, server_keys) = (keys(client, "properties"), keys(server, "properties"));
        for k in client_keys.difference(&server_keys) {
            problems.push(format!(
                "{}: the client sends `{k}`, the server does not document it",
                c.route
            ));
        }
        for k in keys(server, "required").difference(&keys(client, "required")) {
            problems.push(format!(
                "{}: the server requires `{k}`, the client may omit it",
                c.route
            ));
        }
        for k in client_keys.intersection(&server_keys) {
            let cs = resolve(&client["properties"][k], &client_components);
            let ss = resolve(&server["properties"][k], server_components);
            if let (Some(ct), Some(st)) = (types(cs), types(ss)) {
                let ct: BTreeSet<_> = ct.into_iter().filter(|t| t != "null").collect();
                if !ct.is_subset(&st) {
                    problems.push(format!(
                        "{}: `{k}` is {ct:?} in the client, {st:?} on the server",
                        c.route
                    ));
                }
            }
        }
    }
    for (route, sent) in inline {
        covered.insert(route.to_string());
        let server_keys = keys(body_of(route), "properties");
        for k in *sent {
            if !server_keys.contains(*k) {
                problems.push(format!(
                    "{route}: the client sends `{k}`, the server does not document it"
                ));
            }
        }
    }
    // Every documented body is checked here.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let route = format!("{} {path}", method.to_ascii_uppercase());
            if op.get("requestBody").is_some() && !covered.contains(&route) {
                problems.push(format!(
                    "{route}: takes a body the client is not checked against"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
