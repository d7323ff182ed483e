//! `session list|get|status|needs-input|reply`.

use maestro_client::requests::{SendMail, SessionPatch, SessionQuery, SessionTimelineInput};
use maestro_domain::model::{MailMessageType, NeedsInput, Session};
use serde_json::{Map, Value, json};

use crate::cli::SessionCommand;
use crate::context::Ctx;
use crate::error::Result;
use crate::output::{ago, clip, fields, table};

/// The sender of mail a person sends without a session of their own (the phone app uses
/// `mobile-user`).
pub const CLI_SENDER: &str = "cli-user";

pub async fn run(ctx: &Ctx, cmd: SessionCommand) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        SessionCommand::List { status, task } => {
            let sessions = c
                .list_sessions(&SessionQuery {
                    project_id: Some(ctx.project()?.to_string()),
                    task_id: task,
                    status,
                    active: false,
                })
                .await?;
            ctx.out.show(&sessions, || sessions_table(&sessions))
        }
        SessionCommand::Get { id } => {
            let id = match id {
                Some(id) => id,
                None => ctx.session()?.to_string(),
            };
            let s = c.get_session(&id).await?;
            ctx.out.show(&s, || session_fields(&s))
        }
        SessionCommand::Status { status } => {
            let s = c
                .update_session(
                    ctx.session()?,
                    &SessionPatch {
                        status: Some(status),
                        ..Default::default()
                    },
                )
                .await?;
            ctx.out
                .show(&s, || format!("Session {} is {}", s.id, s.status))
        }
        SessionCommand::NeedsInput { message } => {
            let s = c
                .add_session_timeline(
                    ctx.session()?,
                    &SessionTimelineInput {
                        message: message.clone(),
                        kind: Some("needs_input".into()),
                        ..Default::default()
                    },
                )
                .await?;
            ctx.out.show(&s, || {
                format!("Session {} is waiting for input: {message}", s.id)
            })
        }
        SessionCommand::Reply { id, message } => {
            let before = c.get_session(&id).await?;
            let s = c
                .update_session(
                    &id,
                    &SessionPatch {
                        needs_input: Some(NeedsInput {
                            options: None,
                            active: false,
                            message: None,
                            since: None,
                        }),
                        ..Default::default()
                    },
                )
                .await?;
            let mail = match message {
                Some(text) => {
                    let asked = before.needs_input.and_then(|n| n.message);
                    let subject = match asked {
                        Some(q) => format!("Re: {}", clip(&q, 200)),
                        None => "Reply".to_string(),
                    };
                    let mut body = Map::new();
                    body.insert("message".into(), Value::String(text));
                    let sent = c
                        .send_mail(&SendMail {
                            project_id: s.project_id.clone(),
                            from_session_id: ctx.session_opt().unwrap_or(CLI_SENDER).to_string(),
                            to_session_id: Some(id.clone()),
                            to_team_member_id: None,
                            reply_to_mail_id: None,
                            kind: MailMessageType::Directive,
                            subject,
                            body: Some(body),
                        })
                        .await?;
                    Some(sent)
                }
                None => None,
            };
            ctx.out.show(&json!({"session": s, "mail": mail}), || {
                format!(
                    "Answered session {}{}",
                    s.id,
                    if mail.is_some() { " (mail sent)" } else { "" }
                )
            })
        }
    }
}

pub fn sessions_table(sessions: &[Session]) -> String {
    table(
        ["ID", "STATUS", "NAME", "TASKS", "INPUT", "ACTIVE"],
        sessions
            .iter()
            .map(|s| {
                [
                    s.id.clone(),
                    s.status.to_string(),
                    clip(&s.name, 40),
                    s.task_ids.len().to_string(),
                    needs_input(s),
                    ago(s.last_activity),
                ]
            })
            .collect(),
        "No sessions",
    )
}

fn needs_input(s: &Session) -> String {
    match &s.needs_input {
        Some(n) if n.active => clip(n.message.as_deref().unwrap_or("yes"), 40),
        _ => String::new(),
    }
}

fn session_fields(s: &Session) -> String {
    let last = s
        .timeline
        .last()
        .map(|e| format!("{} {}", e.kind, e.message.clone().unwrap_or_default()))
        .unwrap_or_default();
    fields(&[
        ("id", s.id.clone()),
        ("name", s.name.clone()),
        ("status", s.status.to_string()),
        ("project", s.project_id.clone()),
        ("tasks", s.task_ids.join(", ")),
        ("needs input", needs_input(s)),
        ("last activity", ago(s.last_activity)),
        ("last event", clip(&last, 80)),
    ])
}
