//! Health, WebSocket status, skills, orderings, workflow templates and presence.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post, put};
use maestro_domain::DomainError;
use maestro_domain::builtin::workflow_templates;
use maestro_domain::model::{AgentMode, EntityType, Ordering, Skill, WorkflowTemplate};
use maestro_domain::ports::PresenceEntry;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::{Body, Path, Query};
use crate::routes::Api;
use crate::scope::Scoped;
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.add(Method::GET, "/health", "meta", "Liveness", get(health))
        .add(
            Method::GET,
            "/ws-status",
            "meta",
            "Connected real-time clients",
            get(ws_status),
        )
        .add(
            Method::GET,
            "/api/skills",
            "skills",
            "List skills",
            get(skills),
        )
        .add(
            Method::GET,
            "/api/skills/{id}",
            "skills",
            "Get a skill",
            get(skill),
        )
        .add(
            Method::GET,
            "/api/skills/mode/{mode}",
            "skills",
            "Skills for a mode",
            get(skills_for_mode),
        )
        .add(
            Method::POST,
            "/api/skills/{id}/reload",
            "skills",
            "Reload a skill from disk",
            post(reload_skill),
        )
        .add(
            Method::GET,
            "/api/ordering/{entity_type}/{project_id}",
            "ordering",
            "Get a UI ordering",
            get(ordering),
        )
        .add(
            Method::PUT,
            "/api/ordering/{entity_type}/{project_id}",
            "ordering",
            "Save a UI ordering",
            put(save_ordering),
        )
        .add(
            Method::GET,
            "/api/workflow-templates",
            "templates",
            "List workflow templates",
            get(templates),
        )
        .add(
            Method::GET,
            "/api/workflow-templates/{id}",
            "templates",
            "Get a workflow template",
            get(template),
        )
        .add(
            Method::GET,
            "/api/presence",
            "presence",
            "Live agent sessions",
            get(presence),
        )
}

/// `{status, timestamp, uptime}` plus one key per configured backend probe; `status` is
/// `degraded` (still 200, so the process is not restarted for a backend outage) when a probe
/// reports `ok: false`.
/// Public: answers without a principal.
async fn health(State(s): State<AppState>) -> Json<Value> {
    let mut body = json!({
        "status": "ok",
        "timestamp": s.services().context().now(),
        "uptime": s.uptime_secs(),
    });
    for probe in s.probes() {
        let report = probe.check().await;
        if report.get("ok") == Some(&Value::Bool(false)) {
            body["status"] = json!("degraded");
        }
        body[probe.name()] = report;
    }
    Json(body)
}

async fn ws_status(s: Scoped) -> Json<Value> {
    let n = s.state().ws_clients();
    let clients: Vec<Value> = (0..n)
        .map(|_| json!({"readyState": 1, "readyStateText": "OPEN"}))
        .collect();
    Json(json!({
        "connectedClients": n,
        "clients": clients,
        "socketIo": {
            "ui": s.state().socket_io_clients("/ui"),
            "mobile": s.state().socket_io_clients("/mobile"),
        },
        "evictedSlowClients": s.state().evicted_slow_clients(),
    }))
}

async fn skills(s: Scoped) -> ApiResult<Json<Vec<Value>>> {
    let all = s.agent_service().skills().await?;
    Ok(Json(all.iter().map(skill_list_item).collect()))
}

async fn skill(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let skill = s.agent_service().skill(&id).await?;
    Ok(Json(json!({
        "id": skill.id,
        "name": skill.name,
        "description": skill.description,
        "type": skill.kind.as_str(),
        "version": skill.version,
        "instructions": skill.instructions,
    })))
}

async fn skills_for_mode(s: Scoped, Path(mode): Path<String>) -> ApiResult<Json<Vec<Value>>> {
    let fitting = s.agent_service().skills_for_mode(&mode).await?;
    Ok(Json(fitting.iter().map(skill_mode_item).collect()))
}

async fn reload_skill(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let skill = s.agent_service().reload_skill(&id).await?;
    let mut v = skill_mode_item(&skill);
    v["id"] = json!(skill.id);
    v["reloaded"] = json!(true);
    Ok(Json(v))
}

/// Item of `GET /api/skills`.
fn skill_list_item(skill: &Skill) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("id".into(), json!(skill.id));
    o.insert("name".into(), json!(skill.name));
    o.insert("description".into(), json!(skill.description));
    o.insert("version".into(), json!(skill.version));
    o.extend(skill.attributes.clone());
    o.insert("content".into(), json!(skill.instructions));
    o.insert("hasReferences".into(), json!(skill.has_references));
    o.insert("referenceCount".into(), json!(skill.reference_count));
    Value::Object(o)
}

/// Item of `GET /api/skills/mode/:mode` (its `id` is the frontmatter name).
fn skill_mode_item(skill: &Skill) -> Value {
    json!({
        "id": skill.name,
        "name": skill.name,
        "description": skill.description,
        "type": skill.kind.as_str(),
        "version": skill.version,
    })
}

fn entity_type(v: &str) -> ApiResult<EntityType> {
    EntityType::parse(v).ok_or_else(|| {
        DomainError::invalid_field("entityType", "entityType must be \"task\" or \"session\"")
            .into()
    })
}

async fn ordering(
    s: Scoped,
    Path((kind, project)): Path<(String, String)>,
) -> ApiResult<Json<Ordering>> {
    let kind = entity_type(&kind)?;
    Ok(Json(s.services().orderings.get(&project, kind).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderingBody {
    ordered_ids: Option<Value>,
}

async fn save_ordering(
    s: Scoped,
    Path((kind, project)): Path<(String, String)>,
    Body(b): Body<OrderingBody>,
) -> ApiResult<Json<Ordering>> {
    let kind = entity_type(&kind)?;
    let ids: Vec<String> = match b.ordered_ids {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(()),
            })
            .collect::<Result<_, _>>()
            .map_err(|_| {
                DomainError::invalid_field("orderedIds", "orderedIds must be an array of strings")
            })?,
        _ => {
            return Err(
                DomainError::invalid_field("orderedIds", "orderedIds must be an array").into(),
            );
        }
    };
    Ok(Json(
        s.services().orderings.save(&project, kind, ids).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
struct ModeQuery {
    mode: Option<String>,
}

async fn templates(Query(q): Query<ModeQuery>) -> Json<Vec<WorkflowTemplate>> {
    let mode = q.mode.as_deref().and_then(AgentMode::parse);
    Json(
        workflow_templates()
            .iter()
            .filter(|t| mode.is_none_or(|m| t.mode == m))
            .cloned()
            .collect(),
    )
}

async fn template(Path(id): Path<String>) -> ApiResult<Json<WorkflowTemplate>> {
    workflow_templates()
        .iter()
        .find(|t| t.id == id)
        .cloned()
        .map(Json)
        .ok_or_else(|| DomainError::not_found("Template", id).into())
}

/// Live sessions; a signed-in user or session token sees only those of projects it may see.
async fn presence(s: Scoped) -> ApiResult<Json<Vec<PresenceEntry>>> {
    let all = s.state().presence().alive().await?;
    if s.principal().is_unrestricted() {
        return Ok(Json(all));
    }
    let mut allowed = std::collections::BTreeMap::<String, bool>::new();
    let mut out = Vec::new();
    for entry in all {
        let ok = match allowed.get(&entry.project_id) {
            Some(ok) => *ok,
            None => {
                let ok = s.state().can_read(s.principal(), &entry.project_id).await?;
                allowed.insert(entry.project_id.clone(), ok);
                ok
            }
        };
        if ok {
            out.push(entry);
        }
    }
    Ok(Json(out))
}
