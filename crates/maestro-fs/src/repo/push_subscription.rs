//! `push-subscriptions/<id>.json`: the Web Push subscriptions of the person's devices, read
//! from disk on each call (there are few, and every server process sharing the directory
//! sees the others' at once) and written durably. Writers are serialised by one lock.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::PushSubscription;
use maestro_domain::ports::PushSubscriptionRepo;

use super::{run_blocking, run_locked};
use crate::durable::{ensure_dir, read_json, read_json_dir, remove_durable, to_json, write_atomic};
use crate::layout::{Layout, SafeId};

/// The FileSystem [`PushSubscriptionRepo`].
pub struct FsPushSubscriptions {
    layout: Layout,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl FsPushSubscriptions {
    pub(crate) fn new(layout: Layout) -> Self {
        Self {
            layout,
            writer: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The subscriptions under `<data_dir>/push-subscriptions/`, without opening a whole
    /// store (a server whose other data is on Supabase keeps them here).
    pub fn at(data_dir: &std::path::Path) -> Self {
        Self::new(Layout::new(data_dir.to_path_buf()))
    }

    fn file(&self, id: &str) -> Result<PathBuf> {
        Ok(self.layout.push_subscription_file(SafeId::new("id", id)?))
    }
}

#[async_trait]
impl PushSubscriptionRepo for FsPushSubscriptions {
    async fn put(&self, sub: PushSubscription) -> Result<PushSubscription> {
        let dir = self.layout.push_subscriptions_dir();
        let path = self.file(&sub.id)?;
        let bytes = to_json(&sub, "push subscription")?;
        let guard = self.writer.clone().lock_owned().await;
        run_locked(guard, move || {
            ensure_dir(&dir)?;
            write_atomic(&path, &bytes)
        })
        .await?;
        Ok(sub)
    }

    async fn get(&self, id: &str) -> Result<Option<PushSubscription>> {
        // An id that cannot name a file names no subscription.
        let Ok(path) = self.file(id) else {
            return Ok(None);
        };
        run_blocking(move || read_json(&path, "parse push subscription file")).await
    }

    async fn list(&self) -> Result<Vec<PushSubscription>> {
        let dir = self.layout.push_subscriptions_dir();
        let mut subs: Vec<PushSubscription> =
            run_blocking(move || read_json_dir(&dir, "parse push subscription file")).await?;
        subs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(subs)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        let Ok(path) = self.file(id) else {
            return Ok(false);
        };
        let guard = self.writer.clone().lock_owned().await;
        run_locked(guard, move || remove_durable(&path)).await
    }
}
