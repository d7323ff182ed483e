//! `sessions/<sessionId>.json` (events, timeline and docs inside), indexed by project.

use std::path::PathBuf;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{Millis, Session};
use maestro_domain::ports::{Mutator, SessionFilter, SessionRepo};

use super::collection::{Collection, Record};
use crate::layout::{Layout, SafeId};

impl Record for Session {
    const RESOURCE: &'static str = "Session";

    fn id(&self) -> &str {
        &self.id
    }

    fn project_key(&self) -> Option<&str> {
        Some(&self.project_id)
    }

    fn created(&self) -> Millis {
        self.started_at
    }

    fn path(&self, layout: &Layout) -> Result<PathBuf> {
        Ok(layout.session_file(SafeId::new("id", &self.id)?))
    }
}

fn matches(filter: &SessionFilter, s: &Session) -> bool {
    filter
        .project_id
        .as_ref()
        .is_none_or(|p| *p == s.project_id)
        && filter
            .task_id
            .as_ref()
            .is_none_or(|t| s.task_ids.contains(t))
        && filter
            .statuses
            .as_ref()
            .is_none_or(|st| st.contains(&s.status))
}

#[async_trait]
impl SessionRepo for Collection<Session> {
    async fn create(&self, session: Session) -> Result<Session> {
        Collection::create(self, session).await
    }

    async fn get(&self, id: &str) -> Result<Option<Session>> {
        Collection::get(self, id)
    }

    async fn list(&self, filter: &SessionFilter) -> Result<Vec<Session>> {
        Ok(self.select(filter.project_id.as_deref(), |s| matches(filter, s)))
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Session>) -> Result<Session> {
        Collection::update(self, id, change).await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Collection::delete(self, id).await
    }
}
