//! [`MemoryMailRepo`].

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{MailMessage, Millis};
use maestro_domain::ports::{InboxQuery, MailRepo};

use super::table::{Record, Table};

impl Record for MailMessage {
    const RESOURCE: &'static str = "Mail message";

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

/// Mail in memory, indexed by project and listed by `createdAt` then id. A mail is in every
/// listing and inbox as soon as `create` returns.
#[derive(Default)]
pub struct MemoryMailRepo {
    table: Table<MailMessage>,
}

impl MemoryMailRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl MailRepo for MemoryMailRepo {
    async fn create(&self, mail: MailMessage) -> Result<MailMessage> {
        self.table.insert(mail)
    }

    async fn get(&self, id: &str) -> Result<Option<MailMessage>> {
        Ok(self.table.get(id))
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self.table.remove(id))
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<Vec<MailMessage>> {
        Ok(self
            .table
            .list(Some(&query.project_id), |m| query.matches(m)))
    }

    async fn list<'a>(&self, project_id: Option<&'a str>) -> Result<Vec<MailMessage>> {
        Ok(self.table.list(project_id, |_| true))
    }
}
