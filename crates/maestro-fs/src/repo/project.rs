//! `projects/<projectId>.json`.

use std::path::PathBuf;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{Millis, Project};
use maestro_domain::ports::{Mutator, ProjectRepo};

use super::collection::{Collection, Record};
use crate::layout::{Layout, SafeId};

impl Record for Project {
    const RESOURCE: &'static str = "Project";

    fn id(&self) -> &str {
        &self.id
    }

    fn project_key(&self) -> Option<&str> {
        None
    }

    fn created(&self) -> Millis {
        self.created_at
    }

    fn path(&self, layout: &Layout) -> Result<PathBuf> {
        Ok(layout.project_file(SafeId::new("id", &self.id)?))
    }
}

#[async_trait]
impl ProjectRepo for Collection<Project> {
    async fn create(&self, project: Project) -> Result<Project> {
        Collection::create(self, project).await
    }

    async fn get(&self, id: &str) -> Result<Option<Project>> {
        Collection::get(self, id)
    }

    async fn list(&self) -> Result<Vec<Project>> {
        Ok(self.select(None, |_| true))
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Project>) -> Result<Project> {
        Collection::update(self, id, change).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Collection::delete(self, id).await
    }
}
