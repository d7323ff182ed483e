//! The repositories over PostgREST, and [`SupabaseRepos`] which hands them out.

mod api_key;
mod entities;
mod member;
mod push_subscription;
mod table;
mod team;

use std::sync::Arc;

use maestro_domain::model::{Millis, Session, Task};
use maestro_domain::ports::{
    MailRepo, OrderingRepo, ProjectRepo, SessionRepo, TaskRepo, TeamMemberRepo,
};
use maestro_domain::{DomainError, Result};
use serde_json::{Value, json};

pub use api_key::SupabaseApiKeyRepo;
pub use entities::{SupabaseMailRepo, SupabaseProjectRepo, SupabaseSessionRepo, SupabaseTaskRepo};
pub use member::SupabaseMemberRepo;
pub use push_subscription::SupabasePushSubscriptionRepo;
pub use team::{SupabaseOrderingRepo, SupabaseTeamMemberRepo};

use crate::client::PostgrestClient;
use crate::docs::BlobDocsSessionRepo;
use crate::rows::{SESSIONS, TASKS};
use maestro_domain::ports::BlobStore;

/// The six repositories on one [`PostgrestClient`] (service role, or one user's JWT).
///
/// Optionally, session docs whose inline content exceeds a threshold are kept in a
/// [`BlobStore`] ([`SupabaseRepos::with_doc_blobs`]); `sessions()` then returns the
/// [`BlobDocsSessionRepo`] decorator.
#[derive(Clone)]
pub struct SupabaseRepos {
    client: PostgrestClient,
    projects: Arc<SupabaseProjectRepo>,
    tasks: Arc<SupabaseTaskRepo>,
    sessions: Arc<SupabaseSessionRepo>,
    mail: Arc<SupabaseMailRepo>,
    team_members: Arc<SupabaseTeamMemberRepo>,
    orderings: Arc<SupabaseOrderingRepo>,
    doc_sessions: Option<Arc<BlobDocsSessionRepo>>,
}

impl std::fmt::Debug for SupabaseRepos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseRepos")
            .field("client", &self.client)
            .field("doc_blobs", &self.doc_sessions.is_some())
            .finish_non_exhaustive()
    }
}

impl SupabaseRepos {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            projects: Arc::new(SupabaseProjectRepo::new(client.clone())),
            tasks: Arc::new(SupabaseTaskRepo::new(client.clone())),
            sessions: Arc::new(SupabaseSessionRepo::new(client.clone())),
            mail: Arc::new(SupabaseMailRepo::new(client.clone())),
            team_members: Arc::new(SupabaseTeamMemberRepo::new(client.clone())),
            orderings: Arc::new(SupabaseOrderingRepo::new(client.clone())),
            doc_sessions: None,
            client,
        }
    }

    /// Keeps session doc contents longer than `threshold` bytes in `store`.
    pub fn with_doc_blobs(mut self, store: Arc<dyn BlobStore>, threshold: usize) -> Self {
        let inner: Arc<dyn SessionRepo> = self.sessions.clone();
        self.doc_sessions = Some(Arc::new(BlobDocsSessionRepo::new(inner, store, threshold)));
        self
    }

    pub fn client(&self) -> &PostgrestClient {
        &self.client
    }

    /// Project members on the same client (use the service role: the membership service
    /// decides who may change them).
    pub fn members(&self) -> Arc<SupabaseMemberRepo> {
        Arc::new(SupabaseMemberRepo::new(self.client.clone()))
    }

    /// Project API keys on the same client (use the service role: users have no privilege on
    /// the table).
    pub fn api_keys(&self) -> Arc<SupabaseApiKeyRepo> {
        Arc::new(SupabaseApiKeyRepo::new(self.client.clone()))
    }

    /// Web Push subscriptions on the same client (use the service role: users have no
    /// privilege on the table).
    pub fn push_subscriptions(&self) -> Arc<SupabasePushSubscriptionRepo> {
        Arc::new(SupabasePushSubscriptionRepo::new(self.client.clone()))
    }

    /// The six repositories as the domain's bundle.
    pub fn repositories(&self) -> maestro_domain::services::Repositories {
        maestro_domain::services::Repositories {
            projects: self.projects(),
            tasks: self.tasks(),
            sessions: self.sessions(),
            mail: self.mail(),
            team_members: self.team_members(),
            orderings: self.orderings(),
        }
    }

    pub fn projects(&self) -> Arc<dyn ProjectRepo> {
        self.projects.clone()
    }

    pub fn tasks(&self) -> Arc<dyn TaskRepo> {
        self.tasks.clone()
    }

    pub fn sessions(&self) -> Arc<dyn SessionRepo> {
        match &self.doc_sessions {
            Some(d) => d.clone(),
            None => self.sessions.clone(),
        }
    }

    pub fn mail(&self) -> Arc<dyn MailRepo> {
        self.mail.clone()
    }

    pub fn team_members(&self) -> Arc<dyn TeamMemberRepo> {
        self.team_members.clone()
    }

    pub fn orderings(&self) -> Arc<dyn OrderingRepo> {
        self.orderings.clone()
    }

    /// The task repository with its RPC extras.
    pub fn task_repo(&self) -> &SupabaseTaskRepo {
        &self.tasks
    }

    /// The plain session repository (no blob decorator) with its RPC extras.
    pub fn session_repo(&self) -> &SupabaseSessionRepo {
        &self.sessions
    }

    async fn link_rpc(
        &self,
        function: &str,
        task_id: &str,
        session_id: &str,
        now: Millis,
    ) -> Result<(Task, Session)> {
        let args = json!({"p_task_id": task_id, "p_session_id": session_id, "p_now": now});
        let out =
            self.client
                .rpc(function, &args)
                .await
                .map_err(|e| match DomainError::from(e) {
                    DomainError::NotFound { id, .. } => {
                        let resource = if id.starts_with("Session") {
                            "Session"
                        } else {
                            "Task"
                        };
                        let which = if resource == "Session" {
                            session_id
                        } else {
                            task_id
                        };
                        DomainError::not_found(resource, which)
                    }
                    other => other,
                })?;
        let mut out = match out {
            Value::Object(o) => o,
            other => {
                return Err(DomainError::Internal(format!(
                    "{function} answered {other} instead of {{task, session}}"
                )));
            }
        };
        let task = TASKS.decode(out.remove("task").unwrap_or(Value::Null))?;
        let session = SESSIONS.decode(out.remove("session").unwrap_or(Value::Null))?;
        Ok((task, session))
    }

    /// Adds `session_id` to the task's `sessionIds` and `task_id` to the session's `taskIds`
    /// (each only if absent) in one transaction (`maestro_link_task_session`).
    pub async fn link_task_session(
        &self,
        task_id: &str,
        session_id: &str,
        now: Millis,
    ) -> Result<(Task, Session)> {
        self.link_rpc("maestro_link_task_session", task_id, session_id, now)
            .await
    }

    /// The reverse of [`SupabaseRepos::link_task_session`].
    pub async fn unlink_task_session(
        &self,
        task_id: &str,
        session_id: &str,
        now: Millis,
    ) -> Result<(Task, Session)> {
        self.link_rpc("maestro_unlink_task_session", task_id, session_id, now)
            .await
    }

    /// Whether PostgREST answers and the schema is there (for `/health`).
    pub async fn ping(&self) -> Result<()> {
        self.client
            .ping("projects")
            .await
            .map_err(DomainError::from)
    }
}

/// The first row `q` selects from `table`, read by `from_row` (repositories with their own
/// row mapping).
pub(crate) async fn select_one<T>(
    client: &PostgrestClient,
    table: &str,
    q: &crate::query::Query,
    from_row: fn(&serde_json::Value) -> maestro_domain::Result<T>,
) -> maestro_domain::Result<Option<T>> {
    client
        .select(table, q)
        .await?
        .first()
        .map(from_row)
        .transpose()
}

/// Every row `q` selects from `table` (all pages), each read by `from_row`.
pub(crate) async fn select_every<T>(
    client: &PostgrestClient,
    table: &str,
    q: &crate::query::Query,
    from_row: fn(&serde_json::Value) -> maestro_domain::Result<T>,
) -> maestro_domain::Result<Vec<T>> {
    client
        .select_all(table, q)
        .await?
        .iter()
        .map(from_row)
        .collect()
}
