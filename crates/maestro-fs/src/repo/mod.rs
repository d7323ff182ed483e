//! Repository handles: an in-memory cache (the source of truth for reads) written through to
//! one file per record.
//!
//! Every mutation follows the same path: take the record's writer lock, compute the new
//! record on a clone, then — in one blocking task that owns the lock guard — write the file
//! durably and only then swap the clone into the cache. A failed write therefore leaves both
//! memory and disk unchanged, and a caller that gives up (drops its future) cannot leave them
//! diverged either, because the blocking task finishes the swap on its own.

mod api_key;
mod collection;
mod mail;
mod ordering;
mod project;
mod push_subscription;
mod session;
mod task;
mod team_member;

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::OwnedMutexGuard;

use crate::error::FsError;

pub use api_key::FsApiKeys;
pub(crate) use collection::{Collection, Indexed};
pub(crate) use ordering::{OrderingEntry, Orderings};
pub use push_subscription::FsPushSubscriptions;
pub(crate) use team_member::{TeamMembers, TeamState};

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `work` (disk I/O, then the cache swap) on the blocking pool while holding `guard`.
pub(crate) async fn run_locked<T, F>(
    guard: OwnedMutexGuard<()>,
    work: F,
) -> maestro_domain::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, FsError> + Send + 'static,
{
    run_blocking(move || {
        let out = work();
        drop(guard);
        out
    })
    .await
}

/// Runs `work` (disk I/O) on the blocking pool, mapping its errors to the domain's.
pub(crate) async fn run_blocking<T, F>(work: F) -> maestro_domain::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, FsError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| FsError::Task(e.to_string()))?
        .map_err(Into::into)
}
