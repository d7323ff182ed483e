//! [`MemoryTaskRepo`].

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{Millis, Task};
use maestro_domain::ports::{Mutator, TaskFilter, TaskRepo};

use super::table::{Record, Table};

impl Record for Task {
    const RESOURCE: &'static str = "Task";

    fn id(&self) -> &str {
        &self.id
    }

    fn created(&self) -> Millis {
        self.created_at
    }

    fn group(&self) -> Option<&str> {
        Some(&self.project_id)
    }
}

/// Tasks in memory, indexed by project (a project's listing costs work proportional to that
/// project) and listed by `createdAt` then id.
#[derive(Default)]
pub struct MemoryTaskRepo {
    table: Table<Task>,
}

impl MemoryTaskRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

fn matches(filter: &TaskFilter, task: &Task) -> bool {
    filter.status.is_none_or(|s| task.status == s)
        && filter
            .parent_id
            .as_ref()
            .is_none_or(|parent| task.parent_id == *parent)
        && filter
            .session_id
            .as_ref()
            .is_none_or(|s| task.session_ids.contains(s))
}

#[async_trait]
impl TaskRepo for MemoryTaskRepo {
    async fn create(&self, task: Task) -> Result<Task> {
        self.table.insert(task)
    }

    async fn get(&self, id: &str) -> Result<Option<Task>> {
        Ok(self.table.get(id))
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        Ok(self
            .table
            .list(filter.project_id.as_deref(), |t| matches(filter, t)))
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Task>) -> Result<Task> {
        self.table.update(id, change)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.table.remove(id))
    }
}
