//! Session spawn (API.md §6.1): validate everything, generate the manifest, then create the
//! session, so a failure leaves nothing behind (DEFECTS R5).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{DomainError, Result, SpawnErrorCode as Code};
use crate::events::{DomainEvent, Link, SpawnRequest};
use crate::model::{AgentMode, AgentTool, JsonObject, Session, SessionStatus, SpawnSource};
use crate::ports::{ManifestGenerator, ManifestRequest};
use crate::services::{Context, NewSession, SessionPatch, SessionService, TeamMemberService};
use crate::validate;

/// Environment variables that hold credentials. They are never stored in a session or put on
/// the event bus (DEFECTS S3); a local, authenticated real-time connection adds them to
/// `session:spawn` `envVars` at delivery time.
pub const SECRET_ENV_KEYS: [&str; 4] = [
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
];

/// Non-secret provider flags copied from the server environment into spawned sessions.
pub const FLAG_ENV_KEYS: [&str; 2] = ["GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA"];

/// Where spawned agents find the server and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnSettings {
    pub server_url: String,
    pub data_dir: String,
    pub session_dir: String,
    /// Values of [`FLAG_ENV_KEYS`] present in the server environment.
    pub flags: BTreeMap<String, String>,
}

/// Body of `POST /api/sessions/spawn`, with enums still as text so each gets its own code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpawnInput {
    pub project_id: Option<String>,
    /// `None` when absent or not an array of strings.
    pub task_ids: Option<Vec<String>>,
    pub mode: Option<String>,
    pub spawn_source: Option<String>,
    pub session_id: Option<String>,
    pub session_name: Option<String>,
    pub skills: Option<Vec<String>>,
    pub context: Option<JsonObject>,
    pub team_member_id: Option<String>,
    pub team_member_ids: Option<Vec<String>>,
    pub delegate_team_member_ids: Option<Vec<String>>,
    pub agent_tool: Option<String>,
    pub model: Option<String>,
}

/// What a successful spawn returns.
#[derive(Debug, Clone, PartialEq)]
pub struct SpawnOutcome {
    pub session: Session,
    pub manifest_path: String,
}

#[derive(Clone)]
pub struct SpawnService {
    ctx: Arc<Context>,
    sessions: SessionService,
    team: TeamMemberService,
    generator: Arc<dyn ManifestGenerator>,
    settings: Arc<SpawnSettings>,
}

fn fail(code: Code, message: impl Into<String>) -> DomainError {
    DomainError::spawn(code, message)
}

fn model_rank(model: &str) -> u8 {
    match model {
        "opus" => 3,
        "sonnet" => 2,
        "haiku" => 1,
        _ => 0,
    }
}

impl SpawnService {
    /// The spawn flow on `services` (whose sessions and team members it uses).
    pub fn new(
        services: &super::Services,
        generator: Arc<dyn ManifestGenerator>,
        settings: SpawnSettings,
    ) -> Self {
        Self {
            ctx: services.context().clone(),
            sessions: services.sessions.clone(),
            team: services.team_members.clone(),
            generator,
            settings: Arc::new(settings),
        }
    }

    /// The same spawn flow on other (e.g. user-scoped) services.
    pub fn scoped(&self, services: &super::Services<super::Caller>) -> Self {
        Self {
            ctx: services.context().clone(),
            sessions: services.sessions.clone(),
            team: services.team_members.clone(),
            generator: self.generator.clone(),
            settings: self.settings.clone(),
        }
    }

    pub fn settings(&self) -> &SpawnSettings {
        &self.settings
    }

    /// Why spawning cannot work now ([`ManifestGenerator::unavailable`]), or `None`.
    pub fn unavailable(&self) -> Option<String> {
        self.generator.unavailable()
    }

    /// Runs the whole spawn flow; emits `session:updated`, `session:spawn`, then
    /// `task:session_added` per task.
    pub async fn spawn(&self, input: SpawnInput) -> Result<SpawnOutcome> {
        let plan = self.validate(input).await?;
        let manifest = self.generator.generate(&plan.request).await?;
        let created = self
            .sessions
            .create_linked(plan.new_session.clone(), "Started working on task")
            .await;
        let session = match created {
            Ok(s) => s,
            Err(e) => {
                if let Err(d) = self.generator.discard(&plan.request.session_id).await {
                    tracing::warn!(error = %d, "could not discard manifest of failed spawn");
                }
                return Err(e);
            }
        };
        let mut env = BTreeMap::from([
            ("MAESTRO_SESSION_ID".to_string(), session.id.clone()),
            ("MAESTRO_MANIFEST_PATH".to_string(), manifest.path.clone()),
            (
                "MAESTRO_SERVER_URL".to_string(),
                self.settings.server_url.clone(),
            ),
            (
                "MAESTRO_MODE".to_string(),
                plan.request.mode.as_str().to_string(),
            ),
            ("DATA_DIR".to_string(), self.settings.data_dir.clone()),
            ("SESSION_DIR".to_string(), self.settings.session_dir.clone()),
        ]);
        env.extend(self.settings.flags.clone());
        env.entry("GOOGLE_GENAI_USE_GCA".to_string())
            .or_insert_with(|| "true".to_string());
        let session = self
            .sessions
            .update(
                &session.id,
                SessionPatch {
                    env: Some(env.clone()),
                    ..SessionPatch::default()
                },
            )
            .await?;
        let command = match plan.request.mode {
            AgentMode::Coordinate => "maestro orchestrator init",
            AgentMode::Execute => "maestro worker init",
        };
        self.ctx
            .emit(DomainEvent::SessionSpawn(Box::new(SpawnRequest {
                session: session.clone(),
                command: command.to_string(),
                cwd: plan.cwd,
                env_vars: env,
                manifest: manifest.content,
                project_id: session.project_id.clone(),
                task_ids: plan.request.task_ids.clone(),
                spawn_source: plan.source,
                parent_session_id: plan.parent,
                is_spawn_created: true,
            })))
            .await;
        for task_id in &session.task_ids {
            self.ctx
                .emit(DomainEvent::TaskSessionAdded(Link {
                    task_id: task_id.clone(),
                    session_id: session.id.clone(),
                    project_id: session.project_id.clone(),
                }))
                .await;
        }
        Ok(SpawnOutcome {
            session,
            manifest_path: manifest.path,
        })
    }

    /// Steps 1–4 and 6 of API.md §6.1, plus argument validation (DEFECTS S8, C12, C13), in
    /// the spec's order: request shape, parent, member defaults, mode, tasks, project,
    /// membership, then the CLI arguments. (Its length is the plan's two records written out
    /// field by field; every check is one of the helpers below.)
    async fn validate(&self, input: SpawnInput) -> Result<Plan> {
        let project_id = input
            .project_id
            .clone()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| fail(Code::MissingProjectId, "projectId is required"))?;
        let task_ids = input
            .task_ids
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail(Code::InvalidTaskIds, "taskIds must be a non-empty array"))?;
        let (source, parent) = self.source_and_parent(&input).await?;
        // 1–2. Effective members and their defaults.
        let members: Vec<String> = match (&input.team_member_ids, &input.team_member_id) {
            (Some(ids), _) if !ids.is_empty() => ids.clone(),
            (_, Some(id)) if !id.is_empty() => vec![id.clone()],
            _ => Vec::new(),
        };
        let defaults = self.member_defaults(&project_id, &members).await?;
        // 3–4. Resolve and validate.
        let mode = match input.mode.as_deref() {
            Some(m) => AgentMode::parse(m).ok_or_else(|| {
                fail(
                    Code::InvalidMode,
                    format!("mode must be \"execute\" or \"coordinate\", got \"{m}\""),
                )
            })?,
            None => defaults.mode.unwrap_or(AgentMode::Execute),
        };
        let (project, tasks) = self.project_and_tasks(&project_id, &task_ids).await?;
        let args = cli_arguments(&input, defaults)?;
        let reference_task_ids = reference_union(tasks);
        let session_id = self.ctx.new_id("sess");
        let (team_member_ids, team_member_id) = match members.len() {
            0 => (args.delegates, None),
            1 => (args.delegates, Some(members[0].clone())),
            _ => (members.clone(), None),
        };
        let name = session_name(input.session_name, mode, &task_ids[0]);
        let metadata = json!({
            "skills": args.skills,
            "spawnedBy": parent,
            "spawnSource": source.as_str(),
            "mode": mode.as_str(),
            "teamMemberId": if members.len() == 1 { Value::String(members[0].clone()) } else { Value::Null },
            "teamMemberIds": if members.is_empty() { Value::Null } else { json!(members) },
            "context": input.context.unwrap_or_default(),
        });
        Ok(Plan {
            request: ManifestRequest {
                session_id: session_id.clone(),
                mode,
                project_id: project_id.clone(),
                task_ids: task_ids.clone(),
                skills: args.skills,
                model: args.model,
                agent_tool: args.agent_tool,
                reference_task_ids,
                team_member_ids,
                team_member_id,
            },
            new_session: NewSession {
                id: Some(session_id),
                project_id: Some(project_id),
                task_ids: Some(task_ids),
                task_id: None,
                name: Some(name),
                agent_id: None,
                status: Some(SessionStatus::Spawning),
                env: None,
                metadata: metadata.as_object().cloned(),
            },
            cwd: project.working_dir,
            source,
            parent,
        })
    }

    /// `spawnSource` (default `ui`) and the parent session, which must exist whenever a
    /// `sessionId` is given (DEFECTS C13).
    async fn source_and_parent(&self, input: &SpawnInput) -> Result<(SpawnSource, Option<String>)> {
        let source = match input.spawn_source.as_deref() {
            None => SpawnSource::Ui,
            Some(s) => SpawnSource::parse(s).ok_or_else(|| {
                fail(
                    Code::InvalidSpawnSource,
                    format!("spawnSource must be \"ui\" or \"session\", got \"{s}\""),
                )
            })?,
        };
        let parent = input.session_id.clone().filter(|s| !s.is_empty());
        if source == SpawnSource::Session && parent.is_none() {
            return Err(fail(
                Code::MissingSessionId,
                "sessionId is required when spawnSource is \"session\"",
            ));
        }
        if let Some(parent_id) = &parent {
            let exists = validate::is_safe_id(parent_id)
                && self.ctx.ports.sessions.get(parent_id).await?.is_some();
            if !exists {
                return Err(fail(
                    Code::ParentSessionNotFound,
                    format!("Parent session {parent_id} not found"),
                ));
            }
        }
        Ok((source, parent))
    }

    /// Mode, model and tool the team members suggest (missing members are skipped): the
    /// first member's mode and tool, the highest-ranked model, else the first member's model
    /// (DEFECTS C12).
    async fn member_defaults(
        &self,
        project_id: &str,
        members: &[String],
    ) -> Result<MemberDefaults> {
        let mut found = Vec::new();
        for id in members {
            validate::safe_id("teamMemberIds", id).map_err(|_| {
                fail(
                    Code::InvalidArgument,
                    format!("invalid team member id '{id}'"),
                )
            })?;
            match self.team.get(project_id, id).await {
                Ok(m) => found.push(m),
                Err(DomainError::NotFound { .. }) => {}
                Err(DomainError::Validation { message, .. }) => {
                    return Err(fail(Code::InvalidArgument, message));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(MemberDefaults {
            mode: found.iter().find_map(|m| m.mode),
            model: found
                .iter()
                .filter_map(|m| m.model.clone())
                .filter(|m| model_rank(m) > 0)
                .max_by_key(|m| model_rank(m))
                .or_else(|| found.iter().find_map(|m| m.model.clone())),
            tool: found.iter().find_map(|m| m.agent_tool),
        })
    }

    /// Every task must exist (task_not_found), then the project (project_not_found), and only
    /// then may a task be refused for belonging to another project (API.md §6.1).
    async fn project_and_tasks(
        &self,
        project_id: &str,
        task_ids: &[String],
    ) -> Result<(crate::model::Project, Vec<crate::model::Task>)> {
        let ports = &self.ctx.ports;
        let mut tasks = Vec::with_capacity(task_ids.len());
        for task_id in task_ids {
            let task = if validate::is_safe_id(task_id) {
                ports.tasks.get(task_id).await?
            } else {
                None
            };
            let Some(task) = task else {
                return Err(DomainError::Spawn {
                    code: Code::TaskNotFound,
                    message: format!("Task {task_id} not found"),
                    details: Some(json!({ "taskId": task_id })),
                });
            };
            tasks.push(task);
        }
        let project = if validate::is_safe_id(project_id) {
            ports.projects.get(project_id).await?
        } else {
            None
        }
        .ok_or_else(|| {
            fail(
                Code::ProjectNotFound,
                format!("Project {project_id} not found"),
            )
        })?;
        if let Some(t) = tasks.iter().find(|t| t.project_id != project_id) {
            return Err(fail(
                Code::InvalidTaskIds,
                format!("Task '{}' belongs to another project", t.id),
            ));
        }
        Ok((project, tasks))
    }
}

/// What team members suggest for a spawn.
struct MemberDefaults {
    mode: Option<AgentMode>,
    model: Option<String>,
    tool: Option<AgentTool>,
}

/// Values that end up in the CLI's argument vector, each checked (DEFECTS S8).
struct CliArguments {
    model: Option<String>,
    agent_tool: AgentTool,
    skills: Vec<String>,
    delegates: Vec<String>,
}

fn cli_arguments(input: &SpawnInput, defaults: MemberDefaults) -> Result<CliArguments> {
    let model = input
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .or(defaults.model);
    if let Some(m) = &model
        && !validate::is_safe_arg(m)
    {
        return Err(fail(Code::InvalidArgument, format!("invalid model '{m}'")));
    }
    let agent_tool = match input.agent_tool.as_deref() {
        Some(t) => AgentTool::parse(t)
            .ok_or_else(|| fail(Code::InvalidArgument, format!("invalid agentTool '{t}'")))?,
        None => defaults.tool.unwrap_or(AgentTool::ClaudeCode),
    };
    let skills = input.skills.clone().unwrap_or_default();
    if let Some(bad) = skills.iter().find(|s| !validate::is_safe_arg(s)) {
        return Err(fail(
            Code::InvalidArgument,
            format!("invalid skill '{bad}'"),
        ));
    }
    let delegates = input.delegate_team_member_ids.clone().unwrap_or_default();
    if let Some(bad) = delegates.iter().find(|d| !validate::is_safe_id(d)) {
        return Err(fail(
            Code::InvalidArgument,
            format!("invalid delegate team member id '{bad}'"),
        ));
    }
    Ok(CliArguments {
        model,
        agent_tool,
        skills,
        delegates,
    })
}

struct Plan {
    request: ManifestRequest,
    new_session: NewSession,
    cwd: String,
    source: SpawnSource,
    parent: Option<String>,
}

/// 6. Reference tasks: the ordered, de-duplicated union of the tasks' references.
fn reference_union(tasks: Vec<crate::model::Task>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for task in tasks {
        for r in task.reference_task_ids {
            if !ids.contains(&r) {
                ids.push(r);
            }
        }
    }
    ids
}

/// The session name asked for, else `<Execute|Coordinate> for <first task>`.
fn session_name(asked: Option<String>, mode: AgentMode, first_task: &str) -> String {
    asked.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
        let verb = match mode {
            AgentMode::Execute => "Execute",
            AgentMode::Coordinate => "Coordinate",
        };
        format!("{verb} for {first_task}")
    })
}

#[cfg(test)]
mod tests;
