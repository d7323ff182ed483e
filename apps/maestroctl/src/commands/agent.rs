//! `heartbeat` and `run`: an agent's liveness, and an agent run as a session.

use std::process::ExitCode;
use std::time::Duration;

use maestro_client::ClientError;
use maestro_client::requests::{SessionPatch, SessionTimelineInput};
use maestro_domain::model::SessionStatus;
use serde_json::json;
use tokio::time::MissedTickBehavior;

use crate::cli::{HeartbeatArgs, RunArgs};
use crate::context::Ctx;
use crate::error::{CtlError, Result};
use crate::signals::{self, Forwarder};

/// Beats every `interval` until SIGINT/SIGTERM, then exits 0 (the server fails the session
/// once its presence lapses, 15 s after the last beat). A session the server no longer knows
/// or refuses ends the loop with that error; network errors and 5xx answers are reported and
/// retried at the next beat.
pub async fn heartbeat(ctx: &Ctx, a: HeartbeatArgs) -> Result<()> {
    let session = ctx.session()?;
    ctx.out.hint(&format!(
        "heartbeating {session} every {}s; Ctrl-C to stop",
        a.interval.as_secs_f64()
    ));
    let mut ticker = ticker(a.interval);
    let stop = signals::shutdown();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticker.tick() => beat(ctx, session).await?,
        }
    }
    ctx.out.hint("stopped");
    Ok(())
}

/// One heartbeat; only errors that another beat cannot fix are returned.
async fn beat(ctx: &Ctx, session: &str) -> Result<()> {
    match ctx.client.heartbeat(session).await {
        Ok(ack) => {
            if ctx.out.json {
                ctx.out.json_line(&ack)?;
            }
            Ok(())
        }
        Err(e) if e.is_transient() => {
            eprintln!("maestroctl: heartbeat failed, retrying: {e}");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn ticker(every: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(every);
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

/// Runs the command as the session: `working` at the start, a heartbeat every interval while
/// it runs, its signals forwarded, then `completed` (exit status 0) or `failed` (any other
/// status, or killed by a signal). Exits with the child's status (128 + signal when killed).
pub async fn run(ctx: &Ctx, a: RunArgs) -> Result<ExitCode> {
    let session_id = ctx.session()?;
    let session = ctx.client.get_session(session_id).await?;
    if session.status.is_terminal() {
        return Err(CtlError::Usage(format!(
            "session {session_id} has already ended ({})",
            session.status
        )));
    }
    set_status(ctx, session_id, SessionStatus::Working).await?;
    ctx.client.heartbeat(session_id).await?;
    let mut forwarder = Forwarder::new()
        .map_err(|e| CtlError::Failed(format!("cannot listen for signals: {e}")))?;

    let (program, args) = a
        .command
        .split_first()
        .ok_or_else(|| CtlError::Usage("no command to run".into()))?;
    let mut child = match tokio::process::Command::new(program)
        .args(args)
        .env("MAESTRO_SESSION_ID", session_id)
        .env("MAESTRO_PROJECT_ID", &session.project_id)
        .env("MAESTRO_SERVER_URL", &ctx.server)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let why = format!("cannot start `{program}`: {e}");
            report_end(ctx, session_id, false, &why).await;
            return Ok(exit(code, &why));
        }
    };
    let pid = child.id();
    let mut ticker = ticker(a.interval);
    ticker.tick().await; // the first tick is immediate; the session just beat
    let status = loop {
        tokio::select! {
            s = child.wait() => break s,
            _ = ticker.tick() => {
                if let Err(e) = ctx.client.heartbeat(session_id).await {
                    eprintln!("maestroctl: heartbeat failed: {e}");
                }
            }
            name = forwarder.forward_next(pid) => {
                tracing::info!(signal = name, "forwarded to the child");
            }
        }
    };
    let status = status.map_err(|e| CtlError::Failed(format!("waiting for `{program}`: {e}")))?;
    let (code, why) = describe_exit(&status);
    report_end(
        ctx,
        session_id,
        status.success(),
        &format!("`{program}` {why}"),
    )
    .await;
    if ctx.out.json {
        ctx.out.json_line(&json!({
            "sessionId": session_id,
            "exitCode": code,
            "status": if status.success() { "completed" } else { "failed" },
        }))?;
    }
    Ok(ExitCode::from(code))
}

/// The exit code to pass on, and how the child ended in words.
fn describe_exit(status: &std::process::ExitStatus) -> (u8, String) {
    if let Some(c) = status.code() {
        return (
            u8::try_from(c).unwrap_or(1),
            format!("exited with status {c}"),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return (
                u8::try_from(128 + sig).unwrap_or(1),
                format!("was killed by signal {sig}"),
            );
        }
    }
    (1, "ended without a status".into())
}

/// Reports the session `completed` or `failed` (with a timeline entry saying why it failed).
/// A failure to report is printed, not returned: the child's status is what the caller needs.
async fn report_end(ctx: &Ctx, session_id: &str, success: bool, why: &str) {
    if !success {
        let entry = SessionTimelineInput {
            message: why.to_string(),
            kind: Some("error".into()),
            ..Default::default()
        };
        if let Err(e) = ctx.client.add_session_timeline(session_id, &entry).await {
            eprintln!("maestroctl: cannot add to the session's timeline: {e}");
        }
    }
    let status = if success {
        SessionStatus::Completed
    } else {
        SessionStatus::Failed
    };
    if let Err(e) = set_status(ctx, session_id, status).await {
        eprintln!("maestroctl: cannot report the session {status}: {e}");
    }
}

async fn set_status(ctx: &Ctx, id: &str, status: SessionStatus) -> Result<(), ClientError> {
    ctx.client
        .update_session(
            id,
            &SessionPatch {
                status: Some(status),
                ..Default::default()
            },
        )
        .await
        .map(drop)
}

fn exit(code: u8, why: &str) -> ExitCode {
    eprintln!("maestroctl: {why}");
    ExitCode::from(code)
}
