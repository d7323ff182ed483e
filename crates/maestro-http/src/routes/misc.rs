//! Health, WebSocket status, skills, orderings, workflow templates and presence.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post, put};
use maestro_domain::DomainError;
use maestro_domain::builtin::workflow_templates;
use maestro_domain::model::{AgentMode, EntityType, Ordering, WorkflowTemplate};
use maestro_domain::ports::PresenceEntry;
use serde::Deserialize;
use serde_json::Value;

use crate::answers::{
    Health, Liveness, Readiness, SkillDetail, SkillListItem, SkillSummary, SocketIoCounts,
    WsClient, WsStatus,
};
use crate::error::ApiResult;
use crate::extract::{Body, Path, Query};
use crate::routes::Api;
use crate::scope::Scoped;
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.add(Method::GET, "/health", "meta", "Health", get(health))
        .ok::<Health>(200)
        .add(
            Method::GET,
            "/health/live",
            "meta",
            "Liveness (process up)",
            get(live),
        )
        .ok::<Liveness>(200)
        .add(
            Method::GET,
            "/health/ready",
            "meta",
            "Readiness (503 naming an unreachable backend)",
            get(ready),
        )
        .ok::<Readiness>(200)
        .add(
            Method::GET,
            "/ws-status",
            "meta",
            "Connected real-time clients",
            get(ws_status),
        )
        .ok::<WsStatus>(200)
        .add(
            Method::GET,
            "/api/skills",
            "skills",
            "List skills",
            get(skills),
        )
        .ok::<Vec<SkillListItem>>(200)
        .add(
            Method::GET,
            "/api/skills/{id}",
            "skills",
            "Get a skill",
            get(skill),
        )
        .ok::<SkillDetail>(200)
        .add(
            Method::GET,
            "/api/skills/mode/{mode}",
            "skills",
            "Skills for a mode",
            get(skills_for_mode),
        )
        .ok::<Vec<SkillSummary>>(200)
        .add(
            Method::POST,
            "/api/skills/{id}/reload",
            "skills",
            "Reload a skill from disk",
            post(reload_skill),
        )
        .ok::<SkillSummary>(200)
        .add(
            Method::GET,
            "/api/ordering/{entity_type}/{project_id}",
            "ordering",
            "Get a UI ordering",
            get(ordering),
        )
        .ok::<Ordering>(200)
        .add(
            Method::PUT,
            "/api/ordering/{entity_type}/{project_id}",
            "ordering",
            "Save a UI ordering",
            put(save_ordering),
        )
        .body::<OrderingBody>()
        .ok::<Ordering>(200)
        .add(
            Method::GET,
            "/api/workflow-templates",
            "templates",
            "List workflow templates",
            get(templates),
        )
        .query::<ModeQuery>()
        .ok::<Vec<WorkflowTemplate>>(200)
        .add(
            Method::GET,
            "/api/workflow-templates/{id}",
            "templates",
            "Get a workflow template",
            get(template),
        )
        .ok::<WorkflowTemplate>(200)
        .add(
            Method::GET,
            "/api/presence",
            "presence",
            "Live agent sessions",
            get(presence),
        )
        .ok::<Vec<PresenceEntry>>(200)
}

/// `{status, timestamp, uptime}` plus one key per configured backend probe; `status` is
/// `degraded` (still 200, so the process is not restarted for a backend outage) when a probe
/// reports `ok: false`.
/// Public: answers without a principal.
async fn health(State(s): State<AppState>) -> Json<Health> {
    let mut body = Health {
        status: "ok".into(),
        timestamp: s.services().context().now(),
        uptime: s.uptime_secs(),
        probes: Default::default(),
    };
    for probe in s.probes() {
        let report = probe.check().await;
        if report.get("ok") == Some(&Value::Bool(false)) {
            body.status = "degraded".into();
        }
        body.probes.insert(probe.name().to_string(), report);
    }
    Json(body)
}

/// `GET /health/live`: 200 while the process serves requests. Public.
async fn live(State(s): State<AppState>) -> Json<Liveness> {
    Json(Liveness {
        status: "ok".into(),
        uptime: s.uptime_secs(),
    })
}

/// `GET /health/ready`: every configured backend (the `/health` probes and the readiness
/// checks, such as the data directory), at once; 503 naming those that failed, or while
/// draining. Public, for load balancers and orchestrators.
async fn ready(State(s): State<AppState>) -> (axum::http::StatusCode, Json<Readiness>) {
    use axum::http::StatusCode;
    let probes: Vec<_> = s.probes().iter().chain(s.readiness_checks()).collect();
    let reports = futures_util::future::join_all(probes.iter().map(|p| p.check())).await;
    let mut body = Readiness {
        status: "ready".into(),
        failing: Vec::new(),
        checks: Default::default(),
    };
    for (probe, report) in probes.iter().zip(reports) {
        if report.get("ok") != Some(&Value::Bool(true)) {
            body.failing.push(probe.name().to_string());
        }
        body.checks.insert(probe.name().to_string(), report);
    }
    let draining = *s.services().context().shutdown_signal().borrow();
    let status = if draining {
        body.status = "draining".into();
        StatusCode::SERVICE_UNAVAILABLE
    } else if body.failing.is_empty() {
        StatusCode::OK
    } else {
        body.status = "unavailable".into();
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn ws_status(s: Scoped) -> Json<WsStatus> {
    let n = s.state().ws_clients();
    let clients = (0..n)
        .map(|_| WsClient {
            ready_state: 1,
            ready_state_text: "OPEN".into(),
        })
        .collect();
    Json(WsStatus {
        connected_clients: n,
        clients,
        socket_io: SocketIoCounts {
            ui: s.state().socket_io_clients("/ui"),
            mobile: s.state().socket_io_clients("/mobile"),
        },
        evicted_slow_clients: s.state().evicted_slow_clients(),
    })
}

async fn skills(s: Scoped) -> ApiResult<Json<Vec<SkillListItem>>> {
    let all = s.agent_service().skills().await?;
    Ok(Json(all.iter().map(SkillListItem::from).collect()))
}

async fn skill(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<SkillDetail>> {
    let skill = s.agent_service().skill(&id).await?;
    Ok(Json(SkillDetail {
        id: skill.id,
        name: skill.name,
        description: skill.description,
        kind: skill.kind.as_str().to_string(),
        version: skill.version,
        instructions: skill.instructions,
    }))
}

async fn skills_for_mode(
    s: Scoped,
    Path(mode): Path<String>,
) -> ApiResult<Json<Vec<SkillSummary>>> {
    let fitting = s.agent_service().skills_for_mode(&mode).await?;
    Ok(Json(fitting.iter().map(SkillSummary::for_mode).collect()))
}

async fn reload_skill(s: Scoped, Path(id): Path<String>) -> ApiResult<Json<SkillSummary>> {
    let skill = s.agent_service().reload_skill(&id).await?;
    Ok(Json(SkillSummary {
        id: skill.id.clone(),
        reloaded: Some(true),
        ..SkillSummary::for_mode(&skill)
    }))
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

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OrderingRequest")]
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

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "WorkflowTemplateQuery")]
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
