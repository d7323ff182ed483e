//! [`MemoryProjectRepo`].

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{Millis, Project};
use maestro_domain::ports::{Mutator, ProjectRepo};

use super::table::{Record, Table};

impl Record for Project {
    const RESOURCE: &'static str = "Project";

    fn id(&self) -> &str {
        &self.id
    }

    fn created(&self) -> Millis {
        self.created_at
    }

    fn group(&self) -> Option<&str> {
        None
    }
}

/// Projects in memory, listed by `createdAt` then id.
#[derive(Default)]
pub struct MemoryProjectRepo {
    table: Table<Project>,
}

impl MemoryProjectRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ProjectRepo for MemoryProjectRepo {
    async fn create(&self, project: Project) -> Result<Project> {
        self.table.insert(project)
    }

    async fn get(&self, id: &str) -> Result<Option<Project>> {
        Ok(self.table.get(id))
    }

    async fn list(&self) -> Result<Vec<Project>> {
        Ok(self.table.list(None, |_| true))
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Project>) -> Result<Project> {
        self.table.update(id, change)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.table.remove(id))
    }
}
