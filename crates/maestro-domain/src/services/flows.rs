//! Use cases that span several services, as methods of [`Services`] (which owns them all), so
//! no service has to construct another and every transport calls the same code: the phone's
//! reply to an agent's question, and a project's full state for a (re)connecting client.

use serde::Serialize;
use serde_json::json;

use crate::error::{DomainError, Result};
use crate::model::{MailMessage, MailMessageType, NeedsInput, Project, Session, Task, TeamMember};
use crate::ports::TaskFilter;
use crate::services::{PHONE_SENDER, SendMail, Services, SessionPatch, SessionQuery};

/// Everything a client of one project needs to draw it (`state:sync`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSnapshot {
    pub project: Project,
    pub sessions: Vec<Session>,
    pub tasks: Vec<Task>,
    pub team_members: Vec<TeamMember>,
}

/// What [`Services::reply_to_input`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub mail: MailMessage,
    pub session: Session,
}

impl<S> Services<S> {
    /// The session `id`, which must belong to `project_id` (a client bound to one project
    /// must not reach into another): `404` when it does not exist, `422` when it belongs to
    /// another project.
    pub async fn session_in_project(&self, id: &str, project_id: &str) -> Result<Session> {
        let session = self.sessions.get(id).await?;
        if session.project_id == project_id {
            Ok(session)
        } else {
            Err(DomainError::BusinessRule(format!(
                "session '{id}' belongs to another project"
            )))
        }
    }

    /// A person answers the question of session `session_id` (its `needsInput`): the answer
    /// is delivered first as a `response` mail `{answer}` from [`PHONE_SENDER`] — so it is
    /// never lost even if the flag update fails — then `needsInput` is cleared. A session that
    /// has ended (completed, failed, stopped) has no agent left to read it: `422`, nothing sent.
    pub async fn reply_to_input(
        &self,
        project_id: &str,
        session_id: &str,
        message: &str,
    ) -> Result<Reply> {
        let session = self.session_in_project(session_id, project_id).await?;
        if session.status.is_terminal() {
            return Err(DomainError::BusinessRule(format!(
                "session '{session_id}' has ended ({}); no agent would read the reply",
                session.status
            )));
        }
        let mut sent = self
            .mail
            .send(SendMail {
                project_id: project_id.to_string(),
                from_session_id: PHONE_SENDER.into(),
                to_session_id: Some(session_id.to_string()),
                to_team_member_id: None,
                reply_to_mail_id: None,
                kind: MailMessageType::Response,
                subject: "Reply from mobile".into(),
                body: Some(json!({ "answer": message })),
            })
            .await?;
        let mail = sent
            .pop()
            .ok_or_else(|| DomainError::Internal("a direct mail was not stored".into()))?;
        let patch = SessionPatch {
            needs_input: Some(NeedsInput {
                options: None,
                active: false,
                message: None,
                since: None,
            }),
            ..SessionPatch::default()
        };
        let session = self.sessions.update(session_id, patch).await?;
        Ok(Reply { mail, session })
    }

    /// The project with all its sessions, tasks and team members.
    pub async fn snapshot(&self, project_id: &str) -> Result<ProjectSnapshot> {
        let project = self.projects.get(project_id).await?;
        let sessions = self
            .sessions
            .list(&SessionQuery {
                project_id: Some(project_id.to_string()),
                ..SessionQuery::default()
            })
            .await?;
        let tasks = self
            .tasks
            .list(&TaskFilter {
                project_id: Some(project_id.to_string()),
                ..TaskFilter::default()
            })
            .await?;
        let team_members = self.team_members.list(project_id).await?;
        Ok(ProjectSnapshot {
            project,
            sessions,
            tasks,
            team_members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionStatus;
    use crate::services::testing::*;

    #[tokio::test]
    async fn a_reply_to_an_ended_session_is_refused_and_sends_nothing() {
        let mut m = Mocks::new();
        m.sessions.expect_get().returning(|id| {
            let mut s = session(id, "proj_1", &[]);
            s.status = SessionStatus::Completed;
            Ok(Some(s))
        });
        // No mail is stored and the session is not touched: the mocks expect no such calls.
        let e = m
            .services()
            .reply_to_input("proj_1", "sess_1", "go ahead")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "BUSINESS_RULE_ERROR");
        assert!(e.to_string().contains("has ended (completed)"), "{e}");
    }

    #[tokio::test]
    async fn a_session_of_another_project_is_refused() {
        let mut m = Mocks::new();
        m.sessions
            .expect_get()
            .returning(|id| Ok(Some(session(id, "proj_2", &[]))));
        let e = m
            .services()
            .session_in_project("sess_1", "proj_1")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "BUSINESS_RULE_ERROR");
        assert!(e.to_string().contains("another project"));
    }

    #[tokio::test]
    async fn a_reply_is_mailed_then_the_question_cleared() {
        let mut m = Mocks::new();
        let mut asking = session("sess_1", "proj_1", &[]);
        asking.needs_input = Some(NeedsInput {
            options: None,
            active: true,
            message: Some("Which DB?".into()),
            since: Some(1),
        });
        let cell = Cell::new(asking);
        let (a, b) = (cell.clone(), cell.clone());
        m.sessions
            .expect_get()
            .returning(move |_| Ok(Some(a.get())));
        m.sessions
            .expect_update()
            .returning(move |_, f| b.update(f));
        m.projects
            .expect_get()
            .returning(|id| Ok(Some(project(id))));
        m.mail
            .expect_create_stamped_many()
            .returning(|v| Ok(v.into_iter().map(Ok).collect()));
        let events = m.capture_events();
        let r = m
            .services()
            .reply_to_input("proj_1", "sess_1", "Postgres")
            .await
            .unwrap();
        assert_eq!(r.mail.body, json!({"answer": "Postgres"}));
        assert_eq!(r.mail.from_session_id, PHONE_SENDER);
        assert_eq!(r.mail.kind, MailMessageType::Response);
        assert_eq!(r.session.needs_input.map(|n| n.active), Some(false));
        assert_eq!(events.names(), ["mail:received", "session:updated"]);
    }
}
