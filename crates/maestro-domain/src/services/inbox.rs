//! The person's inbox across every project the caller may see (issue 27): agents waiting for
//! an answer, approvals not yet given, sessions that failed, and mail to the person (its
//! address, DECISIONS D30) with the projects' broadcasts. One read, so a phone that opens the
//! app learns what waits for it everywhere, not only in the project it shows.
//!
//! Rights are the caller's own: projects, sessions and mail are read through the caller's
//! (guarded) services, so a project the caller may not read contributes nothing. What the
//! person has already read is the device's business (the app keeps a mark per device).

use std::collections::HashMap;

use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::events::ModalShown;
use crate::model::{MailMessage, Millis, Project, Session, SessionStatus};
use crate::services::{AgentService, InboxParams, PHONE_SENDER, Services, SessionQuery};

/// How far back failures and mail are listed by default: one week.
pub const INBOX_DEFAULT_WINDOW_MS: Millis = 7 * 24 * 3600 * 1000;
/// Most mail listed (the newest).
pub const INBOX_MAX_MAIL: usize = 100;

/// `GET /api/inbox`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboxQuery {
    /// Failures and mail since this time (ms); default: the last week. Waiting agents and
    /// approvals are listed however old they are: they still wait.
    pub since: Option<Millis>,
}

/// The session and project an inbox item is about, by id and by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InboxSource {
    pub project_id: String,
    pub project_name: String,
    pub session_id: String,
    pub session_name: String,
}

/// An agent waiting for the person's answer (`needsInput`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WaitingAgent {
    #[serde(flatten)]
    pub source: InboxSource,
    pub message: Option<String>,
    pub options: Option<Vec<String>>,
    /// When it started waiting.
    pub since: Millis,
}

/// An approval (a modal page) nobody has answered or closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PendingApproval {
    #[serde(flatten)]
    pub modal: ModalShown,
    pub project_name: String,
    pub session_name: String,
}

/// A session that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailedSession {
    #[serde(flatten)]
    pub source: InboxSource,
    pub failed_at: Millis,
}

/// Mail to the person, or a broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PersonMail {
    #[serde(flatten)]
    pub mail: MailMessage,
    pub project_name: String,
    /// The sender's session name (its id when the session is gone).
    pub from_name: String,
}

/// What waits for the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PersonInbox {
    /// Oldest first: the longest wait comes first.
    pub waiting: Vec<WaitingAgent>,
    /// Oldest first.
    pub approvals: Vec<PendingApproval>,
    /// Newest first.
    pub failures: Vec<FailedSession>,
    /// Newest first, at most [`INBOX_MAX_MAIL`].
    pub mail: Vec<PersonMail>,
    /// The server's time of this answer (ms): the next `since` for a client that polls.
    pub generated_at: Millis,
}

/// One project's part, and its sessions (the approvals are read for all projects at once).
struct ProjectPart {
    waiting: Vec<WaitingAgent>,
    failures: Vec<FailedSession>,
    mail: Vec<PersonMail>,
    sessions: Vec<Session>,
}

impl<S> Services<S> {
    /// The person's inbox over every project the caller may read ([`PersonInbox`]); `agents`
    /// knows the pending approvals.
    pub async fn person_inbox(&self, agents: &AgentService, q: &InboxQuery) -> Result<PersonInbox> {
        let now = self.ctx.now();
        let since = q
            .since
            .filter(|s| *s > 0)
            .unwrap_or(now - INBOX_DEFAULT_WINDOW_MS);
        let projects = self.projects.list().await?;
        let parts = try_join_all(projects.iter().map(|p| self.inbox_of(p, since))).await?;
        let mut inbox = PersonInbox {
            waiting: Vec::new(),
            approvals: Vec::new(),
            failures: Vec::new(),
            mail: Vec::new(),
            generated_at: now,
        };
        let mut sessions = Vec::new();
        for part in parts {
            inbox.waiting.extend(part.waiting);
            inbox.failures.extend(part.failures);
            inbox.mail.extend(part.mail);
            sessions.extend(part.sessions);
        }
        // One read of the modal store for every project's sessions.
        let names: HashMap<&str, &str> = projects
            .iter()
            .map(|p| (p.id.as_str(), p.name.as_str()))
            .collect();
        let session_names: HashMap<&str, &str> = sessions
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str()))
            .collect();
        inbox.approvals = agents
            .pending_modals(&sessions)
            .await?
            .into_iter()
            .map(|modal| PendingApproval {
                session_name: session_names
                    .get(modal.session_id.as_str())
                    .map_or_else(|| modal.session_id.clone(), |n| n.to_string()),
                project_name: names
                    .get(modal.project_id.as_str())
                    .map_or_else(String::new, |n| n.to_string()),
                modal,
            })
            .collect();
        inbox
            .waiting
            .sort_by(|a, b| (a.since, &a.source.session_id).cmp(&(b.since, &b.source.session_id)));
        inbox.approvals.sort_by(|a, b| {
            (a.modal.timestamp, &a.modal.modal_id).cmp(&(b.modal.timestamp, &b.modal.modal_id))
        });
        inbox.failures.sort_by(|a, b| {
            (b.failed_at, &b.source.session_id).cmp(&(a.failed_at, &a.source.session_id))
        });
        inbox
            .mail
            .sort_by(|a, b| (b.mail.created_at, &b.mail.id).cmp(&(a.mail.created_at, &a.mail.id)));
        inbox.mail.truncate(INBOX_MAX_MAIL);
        Ok(inbox)
    }

    async fn inbox_of(&self, project: &Project, since: Millis) -> Result<ProjectPart> {
        let sessions = self
            .sessions
            .list(&SessionQuery {
                project_id: Some(project.id.clone()),
                ..SessionQuery::default()
            })
            .await?;
        let mail = self
            .mail
            .inbox(
                PHONE_SENDER,
                &InboxParams {
                    project_id: Some(project.id.clone()),
                    kind: None,
                    since: Some(since),
                },
            )
            .await?;
        let names: HashMap<&str, &str> = sessions
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str()))
            .collect();
        let name_of = |id: &str| {
            names
                .get(id)
                .map_or_else(|| id.to_string(), |n| n.to_string())
        };
        let source = |s: &Session| InboxSource {
            project_id: project.id.clone(),
            project_name: project.name.clone(),
            session_id: s.id.clone(),
            session_name: s.name.clone(),
        };
        let waiting = sessions
            .iter()
            .filter(|s| !s.status.is_terminal())
            .filter_map(|s| {
                let n = s.needs_input.as_ref().filter(|n| n.active)?;
                Some(WaitingAgent {
                    source: source(s),
                    message: n.message.clone(),
                    options: n.options.clone(),
                    since: n.since.unwrap_or(s.last_activity),
                })
            })
            .collect();
        let failures = sessions
            .iter()
            .filter(|s| s.status == SessionStatus::Failed)
            .map(|s| FailedSession {
                source: source(s),
                failed_at: s.completed_at.unwrap_or(s.last_activity),
            })
            .filter(|f| f.failed_at > since)
            .collect();
        let mail = mail
            .into_iter()
            .map(|mail| PersonMail {
                from_name: name_of(&mail.from_session_id),
                project_name: project.name.clone(),
                mail,
            })
            .collect();
        Ok(ProjectPart {
            waiting,
            failures,
            mail,
            sessions,
        })
    }
}
