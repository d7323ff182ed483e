//! [`MemorySessionRepo`].

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{Millis, Session};
use maestro_domain::ports::{Mutator, SessionFilter, SessionRepo};

use super::table::{Record, Table};

impl Record for Session {
    const RESOURCE: &'static str = "Session";

    fn id(&self) -> &str {
        &self.id
    }

    fn created(&self) -> Millis {
        self.started_at
    }

    fn group(&self) -> Option<&str> {
        Some(&self.project_id)
    }
}

/// Sessions in memory, indexed by project and listed by `startedAt` then id.
#[derive(Default)]
pub struct MemorySessionRepo {
    table: Table<Session>,
}

impl MemorySessionRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

fn matches(filter: &SessionFilter, session: &Session) -> bool {
    filter
        .task_id
        .as_ref()
        .is_none_or(|t| session.task_ids.contains(t))
        && filter
            .statuses
            .as_ref()
            .is_none_or(|statuses| statuses.contains(&session.status))
}

#[async_trait]
impl SessionRepo for MemorySessionRepo {
    async fn create(&self, session: Session) -> Result<Session> {
        self.table.insert(session)
    }

    async fn get(&self, id: &str) -> Result<Option<Session>> {
        Ok(self.table.get(id))
    }

    async fn list(&self, filter: &SessionFilter) -> Result<Vec<Session>> {
        Ok(self
            .table
            .list(filter.project_id.as_deref(), |s| matches(filter, s)))
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Session>) -> Result<Session> {
        self.table.update(id, change)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.table.remove(id))
    }
}
