//! `task list|get|create|update`.

use maestro_client::requests::{ClaimTask, NewTask, TaskPatch, TaskQuery};
use maestro_domain::model::{Task, UpdateSource};

use crate::cli::{TaskCommand, TaskUpdateArgs};
use crate::context::Ctx;
use crate::error::{CtlError, Result};
use crate::output::{ago, clip, fields, now_ms, table};

pub async fn run(ctx: &Ctx, cmd: TaskCommand) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        TaskCommand::List {
            status,
            parent,
            root,
        } => {
            let tasks = c
                .list_tasks(&TaskQuery {
                    project_id: Some(ctx.project()?.to_string()),
                    status,
                    parent_id: if root { Some(None) } else { parent.map(Some) },
                })
                .await?;
            ctx.out.show(&tasks, || tasks_table(&tasks))
        }
        TaskCommand::Get { id } => {
            let t = c.get_task(&id).await?;
            ctx.out.show(&t, || task_fields(&t))
        }
        TaskCommand::Create {
            title,
            description,
            priority,
            parent,
            prompt,
        } => {
            let mut new = NewTask::new(ctx.project()?, title);
            new.description = description;
            new.priority = priority;
            new.parent_id = parent;
            new.initial_prompt = prompt;
            let t = c.create_task(&new).await?;
            ctx.out.show(&t, || task_fields(&t))
        }
        TaskCommand::Update(a) => update(ctx, a).await,
        TaskCommand::Claim { id, ttl } => {
            let claim = c
                .claim_task(
                    &id,
                    &ClaimTask {
                        session_id: ctx.session_opt().map(str::to_string),
                        ttl_ms: Some(ttl.as_millis() as u64),
                    },
                )
                .await?;
            ctx.out.show(&claim, || {
                fields(&[
                    ("task", claim.task_id.clone()),
                    ("claimed by", claim.session_id.clone()),
                    ("fencing token", claim.fencing_token.to_string()),
                    (
                        "expires",
                        format!("in {}s", (claim.expires_at - now_ms()).max(0) / 1000),
                    ),
                    ("renewed", claim.renewed.to_string()),
                ])
            })
        }
        TaskCommand::Release { id } => {
            let t = c.release_task_claim(&id, ctx.session_opt()).await?;
            ctx.out
                .show(&t, || format!("Released the claim on {}", t.id))
        }
    }
}

/// The same patch to every id, with a progress bar on a terminal when there are several.
/// Stops at the first failure, after printing what was updated.
async fn update(ctx: &Ctx, a: TaskUpdateArgs) -> Result<()> {
    let mut patch = TaskPatch {
        status: a.status,
        title: a.title,
        description: a.description,
        priority: a.priority,
        ..Default::default()
    };
    let fencing_token = a.fencing_token;
    if let Some(s) = a.session_status {
        patch.session_status = Some(s);
        patch.session_id = Some(ctx.session()?.to_string());
        patch.update_source = Some(UpdateSource::Session);
    }
    let unchanged = patch == TaskPatch::default();
    patch.fencing_token = fencing_token;
    if unchanged {
        return Err(CtlError::Usage(
            "nothing to change: pass --status, --title, --description, --priority or \
             --session-status"
                .into(),
        ));
    }
    let bar = ctx.out.bar(a.ids.len(), "updating");
    let mut done = Vec::with_capacity(a.ids.len());
    let mut failure = None;
    for id in &a.ids {
        match ctx.client.update_task(id, &patch).await {
            Ok(t) => done.push(t),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if !done.is_empty() {
        if a.ids.len() == 1 && ctx.out.json {
            ctx.out.show(&done[0], String::new)?;
        } else {
            ctx.out.show(&done, || tasks_table(&done))?;
        }
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn tasks_table(tasks: &[Task]) -> String {
    table(
        ["ID", "STATUS", "PRIORITY", "TITLE", "UPDATED"],
        tasks
            .iter()
            .map(|t| {
                [
                    t.id.clone(),
                    t.status.to_string(),
                    t.priority.to_string(),
                    clip(&t.title, 60),
                    ago(t.updated_at),
                ]
            })
            .collect(),
        "No tasks",
    )
}

fn task_fields(t: &Task) -> String {
    let sessions: Vec<String> = t
        .task_session_statuses
        .iter()
        .map(|(s, st)| format!("{s} ({st})"))
        .collect();
    fields(&[
        ("id", t.id.clone()),
        ("title", t.title.clone()),
        ("status", t.status.to_string()),
        ("priority", t.priority.to_string()),
        ("parent", t.parent_id.clone().unwrap_or_default()),
        ("sessions", sessions.join(", ")),
        ("claimed by", t.claimed_by.clone().unwrap_or_default()),
        (
            "fencing token",
            t.claim_fencing_token
                .map(|f| f.to_string())
                .unwrap_or_default(),
        ),
        ("updated", ago(t.updated_at)),
        ("description", t.description.clone()),
    ])
}
