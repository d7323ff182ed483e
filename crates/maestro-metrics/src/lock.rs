//! [`MeteredLock`]: counts task-claim outcomes on the fenced leases.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::ports::{Fenced, FencedLease, Lease, Lock};

use crate::names;

/// A [`Lock`] that counts `maestro_claims_total{outcome}` for its fenced leases (what task
/// claims are): `granted` (a new holder), `renewed`, `refused` (held by another), `released`.
/// Plain leases are forwarded uncounted.
pub struct MeteredLock {
    inner: Arc<dyn Lock>,
}

impl MeteredLock {
    pub fn wrap(inner: Arc<dyn Lock>) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

fn count(outcome: &'static str) {
    metrics::counter!(names::CLAIMS, "outcome" => outcome).increment(1);
}

#[async_trait]
impl Lock for MeteredLock {
    async fn try_acquire(&self, resource: &str, ttl: Duration) -> Result<Option<Lease>> {
        self.inner.try_acquire(resource, ttl).await
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        self.inner.release(lease).await
    }

    async fn extend(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        self.inner.extend(lease, ttl).await
    }

    async fn acquire_fenced(&self, resource: &str, owner: &str, ttl: Duration) -> Result<Fenced> {
        let out = self.inner.acquire_fenced(resource, owner, ttl).await?;
        count(match &out {
            Fenced::Granted { renewed: false, .. } => "granted",
            Fenced::Granted { renewed: true, .. } => "renewed",
            Fenced::Held(_) => "refused",
        });
        Ok(out)
    }

    async fn fenced_holder(&self, resource: &str) -> Result<Option<FencedLease>> {
        self.inner.fenced_holder(resource).await
    }

    async fn release_fenced(&self, resource: &str, owner: &str) -> Result<bool> {
        let released = self.inner.release_fenced(resource, owner).await?;
        if released {
            count("released");
        }
        Ok(released)
    }

    async fn live_fenced(&self) -> Result<usize> {
        self.inner.live_fenced().await
    }
}
