//! [`MemoryPushSubscriptionRepo`].

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::PushSubscription;
use maestro_domain::ports::PushSubscriptionRepo;

/// Web Push subscriptions keyed by id.
#[derive(Default)]
pub struct MemoryPushSubscriptionRepo {
    subs: RwLock<BTreeMap<String, PushSubscription>>,
}

impl MemoryPushSubscriptionRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PushSubscriptionRepo for MemoryPushSubscriptionRepo {
    async fn put(&self, sub: PushSubscription) -> Result<PushSubscription> {
        self.subs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sub.id.clone(), sub.clone());
        Ok(sub)
    }

    async fn get(&self, id: &str) -> Result<Option<PushSubscription>> {
        Ok(self
            .subs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned())
    }

    async fn list(&self) -> Result<Vec<PushSubscription>> {
        let mut out: Vec<PushSubscription> = self
            .subs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        Ok(self
            .subs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some())
    }
}
