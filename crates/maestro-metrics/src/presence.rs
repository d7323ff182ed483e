//! [`MeteredPresence`]: counts heartbeats and the expirations this instance sees.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use maestro_domain::Result;
use maestro_domain::ports::{BoxStream, Heartbeat, Presence, PresenceEntry};

use crate::names;

/// A [`Presence`] that counts `maestro_presence_heartbeats_total` (heartbeats stored) and
/// `maestro_presence_expirations_total` (expirations delivered to this instance's
/// [`expirations`](Presence::expirations) streams).
pub struct MeteredPresence {
    inner: Arc<dyn Presence>,
}

impl MeteredPresence {
    pub fn wrap(inner: Arc<dyn Presence>) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

#[async_trait]
impl Presence for MeteredPresence {
    async fn heartbeat(&self, beat: &Heartbeat, ttl: Duration) -> Result<()> {
        self.inner.heartbeat(beat, ttl).await?;
        metrics::counter!(names::PRESENCE_HEARTBEATS).increment(1);
        Ok(())
    }

    async fn is_alive(&self, session_id: &str) -> Result<bool> {
        self.inner.is_alive(session_id).await
    }

    async fn alive(&self) -> Result<Vec<PresenceEntry>> {
        self.inner.alive().await
    }

    async fn remove(&self, session_id: &str) -> Result<()> {
        self.inner.remove(session_id).await
    }

    fn expirations(&self) -> BoxStream<String> {
        Box::pin(self.inner.expirations().inspect(|_| {
            metrics::counter!(names::PRESENCE_EXPIRATIONS).increment(1);
        }))
    }
}
