//! `mail send|inbox|wait|get|reply|delete`.

use std::time::{Duration, Instant};

use maestro_client::requests::{InboxQuery, SendMail, WaitQuery};
use maestro_domain::model::{MailMessage, MailMessageType};
use serde_json::{Map, Value};

use crate::cli::{MailCommand, MailSendArgs};
use crate::commands::session::CLI_SENDER;
use crate::context::Ctx;
use crate::error::{CtlError, Result};
use crate::output::{ago, clip, fields, table};

/// The longest single wait the server accepts; longer waits are several in a row.
const MAX_WAIT: Duration = Duration::from_secs(120);
const MIN_WAIT: Duration = Duration::from_secs(1);

pub async fn run(ctx: &Ctx, cmd: MailCommand) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        MailCommand::Send(a) => send(ctx, a).await,
        MailCommand::Inbox { kind, since } => {
            let mail = c
                .inbox(
                    ctx.session()?,
                    &InboxQuery {
                        project_id: ctx.project()?.to_string(),
                        kind,
                        since,
                    },
                )
                .await?;
            ctx.out.show(&mail, || mail_table(&mail, "No mail"))
        }
        MailCommand::Wait { timeout, since } => wait(ctx, timeout, since).await,
        MailCommand::Get { id } => {
            let m = c.get_mail(&id).await?;
            ctx.out.show(&m, || mail_fields(&m))
        }
        MailCommand::Reply { id, answer } => {
            let original = c.get_mail(&id).await?;
            let mut body = Map::new();
            body.insert("answer".into(), Value::String(answer));
            let sent = c
                .send_mail(&SendMail {
                    project_id: original.project_id.clone(),
                    from_session_id: sender(ctx),
                    to_session_id: Some(original.from_session_id.clone()),
                    to_team_member_id: None,
                    reply_to_mail_id: Some(original.id.clone()),
                    kind: MailMessageType::Response,
                    subject: format!("Re: {}", original.subject),
                    body: Some(body),
                })
                .await?;
            ctx.out.show(&one_or_many(&sent), || mail_table(&sent, ""))
        }
        MailCommand::Delete { ids } => {
            let bar = ctx.out.bar(ids.len(), "deleting");
            let mut deleted = Vec::with_capacity(ids.len());
            for id in &ids {
                let d = c.delete_mail(id).await;
                bar.inc(1);
                match d {
                    Ok(d) => deleted.push(d),
                    Err(e) => {
                        bar.finish_and_clear();
                        ctx.out.show(&deleted, || lines_deleted(&deleted))?;
                        return Err(e.into());
                    }
                }
            }
            bar.finish_and_clear();
            ctx.out.show(&deleted, || lines_deleted(&deleted))
        }
    }
}

async fn send(ctx: &Ctx, a: MailSendArgs) -> Result<()> {
    if a.to.is_none() && a.to_team_member.is_none() && !a.broadcast {
        return Err(CtlError::Usage(
            "no recipient: pass --to SESSION, --to-team-member ID or --broadcast".into(),
        ));
    }
    let body = match (a.message, a.body) {
        (Some(m), _) => {
            let mut o = Map::new();
            o.insert("message".into(), Value::String(m));
            Some(o)
        }
        (None, Some(raw)) => match serde_json::from_str::<Value>(&raw) {
            Ok(Value::Object(o)) => Some(o),
            Ok(_) => return Err(CtlError::Usage("--body must be a JSON object".into())),
            Err(e) => return Err(CtlError::Usage(format!("--body is not JSON: {e}"))),
        },
        (None, None) => None,
    };
    let sent = ctx
        .client
        .send_mail(&SendMail {
            project_id: ctx.project()?.to_string(),
            from_session_id: sender(ctx),
            to_session_id: a.to,
            to_team_member_id: a.to_team_member,
            reply_to_mail_id: a.reply_to,
            kind: a.kind,
            subject: a.subject,
            body,
        })
        .await?;
    ctx.out.show(&one_or_many(&sent), || mail_table(&sent, ""))
}

/// Long-polls until mail is there or `timeout` has passed (in server waits of at most
/// [`MAX_WAIT`]); a spinner on a terminal meanwhile. Prints nothing (`[]` with `--json`) when
/// no mail came.
async fn wait(ctx: &Ctx, timeout: Duration, since: Option<i64>) -> Result<()> {
    let session = ctx.session()?;
    let project = ctx.project()?;
    let spinner = ctx.out.spinner(format!("waiting for mail to {session}"));
    let deadline = Instant::now() + timeout;
    let mail = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = left.clamp(MIN_WAIT, MAX_WAIT);
        let got = ctx
            .client
            .wait_mail(
                session,
                &WaitQuery {
                    project_id: project.to_string(),
                    timeout_ms: Some(chunk.as_millis() as u64),
                    since,
                },
            )
            .await;
        match got {
            Ok(m) if !m.is_empty() => break m,
            Ok(_) if Instant::now() >= deadline => break Vec::new(),
            Ok(_) => {}
            Err(e) => {
                spinner.finish_and_clear();
                return Err(e.into());
            }
        }
    };
    spinner.finish_and_clear();
    if mail.is_empty() {
        ctx.out.hint(&format!(
            "No mail within {}s",
            timeout.as_secs_f64().round()
        ));
    }
    ctx.out.show(&mail, || mail_table(&mail, ""))
}

fn sender(ctx: &Ctx) -> String {
    ctx.session_opt().unwrap_or(CLI_SENDER).to_string()
}

/// The server's own shape: one message as an object, several as an array.
fn one_or_many(sent: &[MailMessage]) -> Value {
    match sent {
        [one] => serde_json::to_value(one).unwrap_or(Value::Null),
        many => serde_json::to_value(many).unwrap_or(Value::Null),
    }
}

fn mail_table(mail: &[MailMessage], empty: &str) -> String {
    table(
        ["ID", "TYPE", "FROM", "TO", "SUBJECT", "SENT"],
        mail.iter()
            .map(|m| {
                [
                    m.id.clone(),
                    m.kind.to_string(),
                    m.from_session_id.clone(),
                    m.to_session_id.clone().unwrap_or_else(|| "(all)".into()),
                    clip(&m.subject, 50),
                    ago(m.created_at),
                ]
            })
            .collect(),
        empty,
    )
}

fn mail_fields(m: &MailMessage) -> String {
    let body = match m.body.get("message").or_else(|| m.body.get("answer")) {
        Some(Value::String(s)) => s.clone(),
        _ => m.body.to_string(),
    };
    fields(&[
        ("id", m.id.clone()),
        ("type", m.kind.to_string()),
        ("from", m.from_session_id.clone()),
        (
            "to",
            m.to_session_id.clone().unwrap_or_else(|| "(all)".into()),
        ),
        ("reply to", m.reply_to_mail_id.clone().unwrap_or_default()),
        ("subject", m.subject.clone()),
        ("sent", ago(m.created_at)),
        ("body", body),
    ])
}

fn lines_deleted(d: &[maestro_client::responses::Deleted]) -> String {
    d.iter()
        .map(|d| format!("Deleted {}", d.id))
        .collect::<Vec<_>>()
        .join("\n")
}
