//! `mail/<mailId>.json`, indexed by project for inbox queries.

use std::path::PathBuf;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{MailMessage, Millis};
use maestro_domain::ports::{InboxQuery, MailRepo};

use super::collection::{Collection, Record};
use crate::layout::{Layout, SafeId};

impl Record for MailMessage {
    const RESOURCE: &'static str = "Mail";

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
        Ok(layout.mail_file(SafeId::new("id", &self.id)?))
    }
}

#[async_trait]
impl MailRepo for Collection<MailMessage> {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage> {
        Collection::create(self, mail).await
    }

    async fn get(&self, id: &str) -> Result<Option<MailMessage>> {
        Collection::get(self, id)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Collection::delete(self, id).await
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>> {
        Ok(self.select(Some(&query.project_id), |m| query.matches(m)))
    }

    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>> {
        Ok(self.select(project_id, |_| true))
    }
}
