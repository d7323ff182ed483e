//! The repositories of projects, tasks, sessions and mail.

use async_trait::async_trait;
use maestro_domain::model::{
    DocEntry, MailMessage, Millis, Project, Session, SessionEvent, Task, TaskSessionStatus,
    TimelineEvent,
};
use maestro_domain::ports::{
    InboxQuery, MailRepo, Mutator, ProjectRepo, SessionFilter, SessionRepo, TaskFilter, TaskRepo,
};
use maestro_domain::{DomainError, Result};
use serde::Serialize;
use serde_json::{Value, json};

use super::table::{Table, domain};
use crate::client::PostgrestClient;
use crate::query::{Cond, Query};
use crate::rows::{MAIL, PROJECTS, SESSIONS, Spec, TASKS};

/// Projects in `public.projects`. Projects created through a user-scoped client are owned by
/// that user (`owner_id` defaults to `auth.uid()`); with the service role they have no owner.
pub struct SupabaseProjectRepo {
    table: Table<Project>,
}

impl SupabaseProjectRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            table: Table::new(client, &PROJECTS),
        }
    }
}

#[async_trait]
impl ProjectRepo for SupabaseProjectRepo {
    async fn create(&self, project: Project) -> Result<Project> {
        self.table.create(&project, &project.id).await
    }

    async fn get(&self, id: &str) -> Result<Option<Project>> {
        self.table.get(&[("id", id)]).await
    }

    async fn list(&self) -> Result<Vec<Project>> {
        self.table.list(Query::new()).await
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Project>) -> Result<Project> {
        self.table
            .update(&[("id", id)], change, |p: &Project| p.id == id)
            .await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        self.table.delete(&[("id", id)]).await
    }
}

/// Tasks in `public.tasks`. Besides the port, [`SupabaseTaskRepo::set_session_status`] sets one
/// `taskSessionStatuses` entry atomically in the database (RPC).
pub struct SupabaseTaskRepo {
    table: Table<Task>,
}

impl SupabaseTaskRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            table: Table::new(client, &TASKS),
        }
    }

    /// `taskSessionStatuses[session_id] = status` and `updatedAt = max(updatedAt, now)`, in
    /// one statement (`maestro_task_set_session_status`): concurrent callers never lose an
    /// entry.
    pub async fn set_session_status(
        &self,
        task_id: &str,
        session_id: &str,
        status: TaskSessionStatus,
        now: Millis,
    ) -> Result<Task> {
        let args = json!({
            "p_task_id": task_id, "p_session_id": session_id,
            "p_status": status.as_str(), "p_updated_at": now,
        });
        let out = self
            .table
            .client
            .rpc("maestro_task_set_session_status", &args)
            .await
            .map_err(|e| domain(&TASKS, task_id, e))?;
        first_row(&TASKS, task_id, out)
    }
}

/// The first row of an RPC answer returning `setof <table>`.
pub(crate) fn first_row<T: serde::de::DeserializeOwned>(
    spec: &Spec,
    id: &str,
    out: Value,
) -> Result<T> {
    let row = match out {
        Value::Array(rows) => rows.into_iter().next(),
        Value::Object(_) => Some(out),
        _ => None,
    };
    match row {
        Some(row) => spec.decode(row),
        None => Err(DomainError::not_found(spec.resource, id)),
    }
}

fn task_filter(filter: &TaskFilter) -> Query {
    let mut q = Query::new();
    if let Some(p) = &filter.project_id {
        q = q.eq("project_id", p);
    }
    if let Some(s) = filter.status {
        q = q.eq("status", s.as_str());
    }
    match &filter.parent_id {
        None => {}
        Some(None) => q = q.is_null("parent_id"),
        Some(Some(parent)) => q = q.eq("parent_id", parent),
    }
    if let Some(s) = &filter.session_id {
        q = q.contains("session_ids", &[s]);
    }
    q
}

#[async_trait]
impl TaskRepo for SupabaseTaskRepo {
    async fn create(&self, task: Task) -> Result<Task> {
        self.table.create(&task, &task.id).await
    }

    async fn get(&self, id: &str) -> Result<Option<Task>> {
        self.table.get(&[("id", id)]).await
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.table.list(task_filter(filter)).await
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Task>) -> Result<Task> {
        self.table
            .update(&[("id", id)], change, |t: &Task| t.id == id)
            .await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        self.table.delete(&[("id", id)]).await
    }
}

/// Sessions in `public.sessions`. Besides the port, the `append_*` methods add one timeline
/// entry, event or doc atomically in the database (RPC `maestro_session_append`).
pub struct SupabaseSessionRepo {
    table: Table<Session>,
}

impl SupabaseSessionRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            table: Table::new(client, &SESSIONS),
        }
    }

    async fn append<E: Serialize>(
        &self,
        session_id: &str,
        list: &str,
        entry: &E,
        now: Millis,
    ) -> Result<Session> {
        let entry = serde_json::to_value(entry)
            .map_err(|e| DomainError::Internal(format!("cannot serialise a {list} entry: {e}")))?;
        let args = json!({
            "p_session_id": session_id, "p_list": list, "p_entry": entry,
            "p_last_activity": now,
        });
        let out = self
            .table
            .client
            .rpc("maestro_session_append", &args)
            .await
            .map_err(|e| domain(&SESSIONS, session_id, e))?;
        first_row(&SESSIONS, session_id, out)
    }

    /// Appends to `timeline` and sets `lastActivity = max(lastActivity, now)`.
    pub async fn append_timeline(
        &self,
        session_id: &str,
        entry: &TimelineEvent,
        now: Millis,
    ) -> Result<Session> {
        self.append(session_id, "timeline", entry, now).await
    }

    /// Appends to `events` and sets `lastActivity = max(lastActivity, now)`.
    pub async fn append_event(
        &self,
        session_id: &str,
        entry: &SessionEvent,
        now: Millis,
    ) -> Result<Session> {
        self.append(session_id, "events", entry, now).await
    }

    /// Appends to `docs` (content inline) and sets `lastActivity = max(lastActivity, now)`.
    pub async fn append_doc(
        &self,
        session_id: &str,
        entry: &DocEntry,
        now: Millis,
    ) -> Result<Session> {
        self.append(session_id, "docs", entry, now).await
    }
}

#[async_trait]
impl SessionRepo for SupabaseSessionRepo {
    async fn create(&self, session: Session) -> Result<Session> {
        self.table.create(&session, &session.id).await
    }

    async fn get(&self, id: &str) -> Result<Option<Session>> {
        self.table.get(&[("id", id)]).await
    }

    async fn list(&self, filter: &SessionFilter) -> Result<Vec<Session>> {
        let mut q = Query::new();
        if let Some(p) = &filter.project_id {
            q = q.eq("project_id", p);
        }
        if let Some(t) = &filter.task_id {
            q = q.contains("task_ids", &[t]);
        }
        if let Some(statuses) = &filter.statuses {
            if statuses.is_empty() {
                return Ok(Vec::new());
            }
            let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
            q = q.in_list("status", &names);
        }
        self.table.list(q).await
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Session>) -> Result<Session> {
        self.table
            .update(&[("id", id)], change, |s: &Session| s.id == id)
            .await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        self.table.delete(&[("id", id)]).await
    }
}

/// Mail in `public.mail_messages`.
pub struct SupabaseMailRepo {
    table: Table<MailMessage>,
}

impl SupabaseMailRepo {
    pub fn new(client: PostgrestClient) -> Self {
        Self {
            table: Table::new(client, &MAIL),
        }
    }
}

#[async_trait]
impl MailRepo for SupabaseMailRepo {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage> {
        self.table.create(&mail, &mail.id).await
    }

    /// One PostgREST request for the whole batch (the mail service group-commits).
    async fn create_stamped_many(
        &self,
        mails: Vec<MailMessage>,
    ) -> Result<Vec<Result<MailMessage>>> {
        Ok(self.table.create_many(&mails, |m| m.id.as_str()).await)
    }

    async fn get(&self, id: &str) -> Result<Option<MailMessage>> {
        self.table.get(&[("id", id)]).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        self.table.delete(&[("id", id)]).await
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>> {
        // Addressed to the recipient, or a broadcast of the project not sent by it.
        let mut q = Query::new().eq("project_id", &query.project_id).or(&[
            Cond::eq("to_session_id", query.session_id.as_str()),
            Cond::And(vec![
                Cond::is_null("to_session_id"),
                Cond::neq("from_session_id", query.session_id.as_str()),
            ]),
        ]);
        if let Some(kind) = query.kind {
            q = q.eq("type", kind.as_str());
        }
        if let Some(since) = query.since {
            q = q.gt("created_at", since);
        }
        self.table.list(q).await
    }

    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>> {
        let q = match project_id {
            Some(p) => Query::new().eq("project_id", p),
            None => Query::new(),
        };
        self.table.list(q).await
    }
}
