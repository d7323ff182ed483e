//! The OpenAPI 3.1 document of the route table: every operation with its path and query
//! parameters, request body, success answer and the shared error answer, the schemas generated
//! (schemars, JSON Schema 2020-12 as OpenAPI 3.1 uses it) from the types the handlers parse and
//! render. Open enums carry `x-open-enum: true`.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::answers::ErrorBody;
use crate::routes::Operation;

/// The document for `operations` (served at `/api/openapi.json`).
pub fn document(operations: &[Operation]) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    let error = generator.subschema_for::<ErrorBody>();

    let mut paths = Map::new();
    for op in operations {
        let mut parameters: Vec<Value> = path_params(op.path)
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
            })
            .collect();
        if let Some(query) = op.query {
            parameters.extend(query_params(&query(&mut generator).to_value()));
        }
        let mut operation = json!({
            "operationId": operation_id(op),
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
        });
        if let Some(body) = op.body {
            let mut media = json!({"schema": body(&mut generator).to_value()});
            if let Some(example) = &op.example {
                media["example"] = example.clone();
            }
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": media}});
        }
        let mut responses = Map::new();
        if let Some((status, schema)) = op.ok {
            responses.insert(
                status.to_string(),
                json!({
                    "description": if status == 201 { "Created" } else { "OK" },
                    "content": {"application/json": {"schema": schema(&mut generator).to_value()}},
                }),
            );
        }
        responses.insert(
            "default".into(),
            json!({"$ref": "#/components/responses/Error"}),
        );
        operation["responses"] = Value::Object(responses);
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[op.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Maestro Server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Coordination API for fleets of AI coding agents (drop-in for the TypeScript maestro-server). Every error answer is the `ErrorBody` schema (response `Error`); `x-open-enum` marks string sets that also keep values the original server stored without validating them.",
        },
        "components": {
            "schemas": generator.take_definitions(true),
            "responses": {
                "Error": {
                    "description": "Any error: 400 validation (with `details`), 401 no or bad credential, 403 not allowed, 404 not found (or not visible), 409/422 business rules, 429 rate limited, 5xx server or backend failures.",
                    "content": {"application/json": {"schema": error.to_value()}},
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "MAESTRO_API_TOKEN, a Supabase access token, a session token (mst1.…) or a project API key (mak1.…)."}},
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
    })
}

/// `{id}`, `{task_id}`… of an axum path.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// One query parameter per property of an object schema.
fn query_params(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| {
                    let mut p = json!({
                        "name": name,
                        "in": "query",
                        "required": required.contains(&name.as_str()),
                        "schema": s,
                    });
                    if let Some(d) = s.get("description") {
                        p["description"] = d.clone();
                    }
                    p
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `getTasksById`-style: the method, then each path segment (parameters as `By<Name>`).
fn operation_id(op: &Operation) -> String {
    let mut id = op.method.as_str().to_ascii_lowercase();
    for seg in op.path.split('/').filter(|s| !s.is_empty() && *s != "api") {
        let (prefix, word) = match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => ("By", param),
            None => ("", seg),
        };
        id.push_str(prefix);
        for part in word.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                id.extend(first.to_uppercase());
                id.push_str(chars.as_str());
            }
        }
    }
    id
}
