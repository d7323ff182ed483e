//! `tasks/<projectId>/<taskId>.json`, indexed by project so a project's listing only visits
//! that project's tasks.

use std::path::PathBuf;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{Millis, Task};
use maestro_domain::ports::{Mutator, TaskFilter, TaskRepo};

use super::collection::{Collection, Record};
use crate::layout::{Layout, SafeId};

impl Record for Task {
    const RESOURCE: &'static str = "Task";

    fn id(&self) -> &str {
        &self.id
    }

    fn project_key(&self) -> Option<&str> {
        Some(&self.project_id)
    }

    fn created(&self) -> Millis {
        self.created_at
    }

    fn path(&self, layout: &Layout) -> Result<PathBuf> {
        Ok(layout.task_file(
            SafeId::new("projectId", &self.project_id)?,
            SafeId::new("id", &self.id)?,
        ))
    }
}

fn matches(filter: &TaskFilter, t: &Task) -> bool {
    filter
        .project_id
        .as_ref()
        .is_none_or(|p| *p == t.project_id)
        && filter.status.is_none_or(|s| t.status == s)
        && filter.parent_id.as_ref().is_none_or(|p| *p == t.parent_id)
        && filter
            .session_id
            .as_ref()
            .is_none_or(|s| t.session_ids.contains(s))
}

#[async_trait]
impl TaskRepo for Collection<Task> {
    async fn create(&self, task: Task) -> Result<Task> {
        Collection::create(self, task).await
    }

    async fn get(&self, id: &str) -> Result<Option<Task>> {
        Collection::get(self, id)
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        Ok(self.select(filter.project_id.as_deref(), |t| matches(filter, t)))
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Task>) -> Result<Task> {
        Collection::update(self, id, change).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Collection::delete(self, id).await
    }
}
