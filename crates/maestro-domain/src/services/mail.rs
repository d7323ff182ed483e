//! Mail between sessions (API.md §7), including the long-poll wait.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use crate::error::{DomainError, Result};
use crate::events::{Deleted, DomainEvent};
use crate::model::{MailMessage, MailMessageType, Millis, SessionStatus};
use crate::ports::{BusMessage, InboxQuery, SessionFilter};
use crate::services::Context;
use crate::validate;

/// Longest subject (API.md #31).
pub const MAX_SUBJECT_CHARS: usize = 500;
/// Allowed `timeout` of a wait, in ms (API.md #33).
pub const WAIT_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1_000..=120_000;
/// Default `timeout` of a wait, in ms.
pub const DEFAULT_WAIT_TIMEOUT_MS: u64 = 30_000;
/// Most mail waits one session may have pending at once (DEFECTS R6).
pub const MAX_WAITS_PER_SESSION: usize = 16;

/// Body of `POST /api/mail` after schema validation.
#[derive(Debug, Clone, PartialEq)]
pub struct SendMail {
    pub project_id: String,
    pub from_session_id: String,
    pub to_session_id: Option<String>,
    pub to_team_member_id: Option<String>,
    pub reply_to_mail_id: Option<String>,
    pub kind: MailMessageType,
    pub subject: String,
    pub body: Option<Value>,
}

/// Query of `GET /api/mail/inbox/:id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxParams {
    pub project_id: Option<String>,
    pub kind: Option<MailMessageType>,
    /// Only mails with `createdAt > since`; `0` or absent = no filter.
    pub since: Option<Millis>,
}

/// Query of `GET /api/mail/wait/:id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WaitParams {
    pub project_id: Option<String>,
    /// Milliseconds, within [`WAIT_TIMEOUT_RANGE`]; default 30 s.
    pub timeout_ms: Option<u64>,
    pub since: Option<Millis>,
}

#[derive(Clone)]
pub struct MailService {
    ctx: Arc<Context>,
}

/// The person's address (DECISIONS D30): the phone's sender, as in the original, and a
/// recipient every project has. Mail to it is the person's inbox (with the project's
/// broadcasts); it is not a session, so it cannot wait on its inbox.
pub const PHONE_SENDER: &str = "mobile-user";

impl MailService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Stores one mail (or one per active session of `toTeamMemberId`) and emits
    /// `mail:received` for each. `createdAt` is strictly increasing (DEFECTS C2).
    pub async fn send(&self, input: SendMail) -> Result<Vec<MailMessage>> {
        validate::safe_id("projectId", &input.project_id)?;
        validate::safe_id("fromSessionId", &input.from_session_id)?;
        for (field, v) in [
            ("toSessionId", &input.to_session_id),
            ("toTeamMemberId", &input.to_team_member_id),
            ("replyToMailId", &input.reply_to_mail_id),
        ] {
            if let Some(v) = v {
                validate::safe_id(field, v)?;
            }
        }
        let chars = input.subject.chars().count();
        if chars == 0 || chars > MAX_SUBJECT_CHARS {
            return Err(DomainError::invalid_field(
                "subject",
                format!("subject must be 1-{MAX_SUBJECT_CHARS} characters"),
            ));
        }
        let body = match input.body {
            None => Value::Object(Default::default()),
            Some(b @ Value::Object(_)) => b,
            Some(_) => return Err(DomainError::invalid_field("body", "body must be an object")),
        };
        // Mail for a project or session that does not exist would be stored for nobody. Both
        // reads run at once (one round trip of latency on a remote store).
        let recipient = async {
            match &input.to_session_id {
                Some(to) if to == PHONE_SENDER => Ok(None),
                Some(to) => self
                    .ctx
                    .require_session_in(to, &input.project_id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (project, recipient) =
            tokio::join!(self.ctx.require_project(&input.project_id), recipient);
        project?;
        recipient?;
        let recipients = match (&input.to_session_id, &input.to_team_member_id) {
            (None, Some(member)) => self.sessions_of_member(&input.project_id, member).await?,
            (to, _) => vec![to.clone()],
        };
        let mut sent = Vec::with_capacity(recipients.len());
        for to in recipients {
            let draft = MailMessage {
                id: String::new(),
                project_id: input.project_id.clone(),
                from_session_id: input.from_session_id.clone(),
                to_session_id: to,
                reply_to_mail_id: input.reply_to_mail_id.clone(),
                kind: input.kind,
                subject: input.subject.clone(),
                body: body.clone(),
                created_at: 0,
            };
            let mail = self.ctx.store_mail(draft).await?;
            self.ctx.emit(DomainEvent::MailReceived(mail.clone())).await;
            sent.push(mail);
        }
        Ok(sent)
    }

    /// The active sessions of `project_id` serving team member `member` (each gets a copy of
    /// mail sent to the member); `404` when none is active.
    async fn sessions_of_member(
        &self,
        project_id: &str,
        member: &str,
    ) -> Result<Vec<Option<String>>> {
        let sessions = self
            .ctx
            .ports
            .sessions
            .list(&SessionFilter {
                project_id: Some(project_id.to_string()),
                task_id: None,
                statuses: Some(vec![
                    SessionStatus::Working,
                    SessionStatus::Idle,
                    SessionStatus::Spawning,
                ]),
            })
            .await?;
        let ids: Vec<Option<String>> = sessions
            .into_iter()
            .filter(|s| s.serves_team_member(member))
            .map(|s| Some(s.id))
            .collect();
        if ids.is_empty() {
            return Err(DomainError::not_found(
                "Active session for team member",
                member,
            ));
        }
        Ok(ids)
    }

    /// The inbox of `session_id`: addressed mail and other sessions' broadcasts of the
    /// project, oldest first. Without `projectId` it is empty (DEFECTS C3, kept).
    pub async fn inbox(&self, session_id: &str, params: &InboxParams) -> Result<Vec<MailMessage>> {
        validate::safe_id("id", session_id)?;
        let Some(project_id) = params.project_id.clone() else {
            return Ok(Vec::new());
        };
        self.ctx
            .ports
            .mail
            .inbox(&InboxQuery {
                project_id,
                session_id: session_id.to_string(),
                kind: params.kind,
                since: params.since.filter(|s| *s != 0),
            })
            .await
    }

    /// Long-poll: returns the inbox newer than `since` at once if it is not empty, else waits
    /// for the first matching mail and returns everything newer than `since` (DEFECTS C2), or
    /// `[]` on timeout or shutdown. Subscribes before reading, so a mail stored while the wait
    /// sets up is never missed (DEFECTS R1). Dropping the future cancels the wait (R6).
    pub async fn wait(&self, session_id: &str, params: &WaitParams) -> Result<Vec<MailMessage>> {
        let timeout = params.timeout_ms.unwrap_or(DEFAULT_WAIT_TIMEOUT_MS);
        if !WAIT_TIMEOUT_RANGE.contains(&timeout) {
            return Err(DomainError::invalid_field(
                "timeout",
                "timeout must be between 1000 and 120000",
            ));
        }
        let inbox = InboxParams {
            project_id: params.project_id.clone(),
            kind: None,
            since: params.since,
        };
        let Some(project_id) = inbox.project_id.clone() else {
            return Ok(Vec::new());
        };
        validate::safe_id("id", session_id)?;
        // Waits hold a connection (and, on Redis, a blocking read): only for real sessions.
        self.ctx.require_session_in(session_id, &project_id).await?;
        let _slot = self
            .ctx
            .hub()
            .begin_wait(session_id, MAX_WAITS_PER_SESSION)?;
        let mut events = self.ctx.ports.bus.subscribe();
        let mut shutdown = self.ctx.shutdown_signal();
        let found = self.inbox(session_id, &inbox).await?;
        if !found.is_empty() || *shutdown.borrow() {
            return Ok(found);
        }
        let query = InboxQuery {
            project_id,
            session_id: session_id.to_string(),
            kind: None,
            since: inbox.since.filter(|s| *s != 0),
        };
        if self.ctx.ports.mail.supports_blocking_wait() {
            drop(events);
            return tokio::select! {
                found = self.ctx.ports.mail.wait_inbox(&query, Duration::from_millis(timeout)) => found,
                _ = shutdown.changed() => Ok(Vec::new()),
            };
        }
        let deadline = tokio::time::sleep(Duration::from_millis(timeout));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return Ok(Vec::new()),
                _ = shutdown.changed() => return Ok(Vec::new()),
                next = events.next() => match next {
                    Some(BusMessage::Event(e)) => {
                        if let DomainEvent::MailReceived(m) = &e.event
                            && query.matches(m)
                        {
                            let found = self.ctx.ports.mail.inbox(&query).await?;
                            if !found.is_empty() {
                                return Ok(found);
                            }
                        }
                    }
                    // Missed events: re-read the store instead of trusting the stream.
                    Some(BusMessage::Lagged(_)) => {
                        let found = self.ctx.ports.mail.inbox(&query).await?;
                        if !found.is_empty() {
                            return Ok(found);
                        }
                    }
                    None => {
                        return Err(DomainError::Unavailable("event bus closed".into()));
                    }
                },
            }
        }
    }

    pub async fn get(&self, id: &str) -> Result<MailMessage> {
        self.ctx
            .ports
            .mail
            .get(id)
            .await?
            .ok_or_else(|| DomainError::not_found("Mail", id))
    }

    /// Deletes one mail and emits `mail:deleted`.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let mail = self.get(id).await?;
        if !self.ctx.ports.mail.delete(id).await? {
            return Err(DomainError::not_found("Mail", id));
        }
        self.ctx
            .emit(DomainEvent::MailDeleted(Deleted {
                id: id.to_string(),
                project_id: Some(mail.project_id),
            }))
            .await;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests start waiters as a client would
mod tests;
