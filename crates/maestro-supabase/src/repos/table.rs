//! [`Table`]: the create / get / list / update / delete every repository shares, over one
//! [`Spec`], with optimistic concurrency on the `version` column.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::marker::PhantomData;
use std::time::Duration;

use maestro_domain::ports::Mutator;
use maestro_domain::{DomainError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::PostgrestClient;
use crate::error::PostgrestError;
use crate::query::Query;
use crate::rows::{Spec, version_of};

/// Attempts of one `update` before it gives up with `Conflict` (each lost race retries).
pub(crate) const MAX_ATTEMPTS: u32 = 200;

/// A record's key: `(column, value)` pairs.
pub(crate) type Key<'a> = &'a [(&'static str, &'a str)];

/// A random pause before retry `attempt` (full jitter, capped at 64 ms).
pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = 1u64 << attempt.min(6);
    let r = RandomState::new().build_hasher().finish();
    let ms = r % (cap_ms + 1);
    tokio::time::sleep(Duration::from_millis(ms) + Duration::from_micros(r % 1000)).await;
}

/// The domain error of a failed call on `spec`'s table.
pub(crate) fn domain(spec: &Spec, id: &str, e: PostgrestError) -> DomainError {
    if e.is_conflict() {
        return DomainError::Conflict(format!("{} with id '{id}' already exists", spec.resource));
    }
    match DomainError::from(e) {
        DomainError::NotFound { .. } => DomainError::not_found(spec.resource, id),
        other => other,
    }
}

fn keyed(key: Key<'_>) -> Query {
    key.iter()
        .fold(Query::new(), |q, (column, value)| q.eq(column, value))
}

fn key_id(key: Key<'_>) -> String {
    key.last().map(|(_, v)| (*v).to_owned()).unwrap_or_default()
}

/// The shared operations on one table of records `T`.
pub(crate) struct Table<T> {
    pub client: PostgrestClient,
    pub spec: &'static Spec,
    _t: PhantomData<fn() -> T>,
}

impl<T> Table<T>
where
    T: Serialize + DeserializeOwned + Clone + PartialEq + Send + Sync,
{
    pub fn new(client: PostgrestClient, spec: &'static Spec) -> Self {
        Self {
            client,
            spec,
            _t: PhantomData,
        }
    }

    /// Inserts `value`; `Conflict` when its key exists.
    pub async fn create(&self, value: &T, id: &str) -> Result<T> {
        let row = self.spec.to_row(value)?;
        let q = Query::new().select(&self.spec.select(false));
        let rows = self
            .client
            .insert(self.spec.table, &row, &q)
            .await
            .map_err(|e| domain(self.spec, id, e))?;
        let Some(first) = rows.into_iter().next() else {
            return Err(DomainError::Internal(format!(
                "inserting {} '{id}' returned no row",
                self.spec.resource
            )));
        };
        self.spec.decode(first)
    }

    /// Inserts `values` with one request (all or nothing, in order). When the batch is refused
    /// (e.g. one duplicate id), each value is inserted on its own so the others still land;
    /// one result per value, in order.
    pub async fn create_many(&self, values: &[T], id: impl Fn(&T) -> &str) -> Vec<Result<T>> {
        let rows: Result<Vec<Value>> = values.iter().map(|v| self.spec.to_row(v)).collect();
        if let Ok(rows) = rows
            && values.len() > 1
        {
            let q = Query::new().select(&self.spec.select(false));
            if let Ok(inserted) = self
                .client
                .insert(self.spec.table, &Value::Array(rows), &q)
                .await
                && inserted.len() == values.len()
            {
                return inserted.into_iter().map(|r| self.spec.decode(r)).collect();
            }
        }
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            out.push(self.create(v, id(v)).await);
        }
        out
    }

    async fn get_row(&self, key: Key<'_>, with_version: bool) -> Result<Option<Value>> {
        let q = keyed(key).select(&self.spec.select(with_version));
        let rows = self
            .client
            .select(self.spec.table, &q)
            .await
            .map_err(|e| domain(self.spec, &key_id(key), e))?;
        Ok(rows.into_iter().next())
    }

    pub async fn get(&self, key: Key<'_>) -> Result<Option<T>> {
        match self.get_row(key, false).await? {
            Some(row) => Ok(Some(self.spec.decode(row)?)),
            None => Ok(None),
        }
    }

    /// Every row matching `filter`, in the spec's order.
    pub async fn list(&self, filter: Query) -> Result<Vec<T>> {
        let q = filter
            .select(&self.spec.select(false))
            .order(self.spec.order);
        let rows = self
            .client
            .select_all(self.spec.table, &q)
            .await
            .map_err(|e| domain(self.spec, "", e))?;
        rows.into_iter().map(|r| self.spec.decode(r)).collect()
    }

    /// Atomic read-modify-write: read the row and its version, apply `change`, write it back
    /// only if the version is still the one read, else retry. `same_key` refuses a change of
    /// the record's key.
    pub async fn update(
        &self,
        key: Key<'_>,
        change: Mutator<'_, T>,
        same_key: impl Fn(&T) -> bool,
    ) -> Result<T> {
        let id = key_id(key);
        for attempt in 0..MAX_ATTEMPTS {
            let Some(row) = self.get_row(key, true).await? else {
                return Err(DomainError::not_found(self.spec.resource, &id));
            };
            let version = version_of(&row)?;
            let current: T = self.spec.decode(row)?;
            let mut next = current.clone();
            change(&mut next)?;
            if next == current {
                return Ok(next);
            }
            if !same_key(&next) {
                return Err(DomainError::Internal(format!(
                    "an update of {} '{id}' tried to change its key",
                    self.spec.resource
                )));
            }
            let patch = self.spec.to_row(&next)?;
            let q = keyed(key)
                .eq("version", version)
                .select(&self.spec.select(false));
            let rows = self
                .client
                .update(self.spec.table, &q, &patch)
                .await
                .map_err(|e| domain(self.spec, &id, e))?;
            if let Some(first) = rows.into_iter().next() {
                return self.spec.decode(first);
            }
            // Nothing matched: the row changed (or vanished) since it was read, or RLS hides
            // it from this caller's writes.
            match self.get_row(key, true).await? {
                None => return Err(DomainError::not_found(self.spec.resource, &id)),
                Some(now) if version_of(&now)? == version => {
                    return Err(DomainError::Forbidden(format!(
                        "not allowed to change {} '{id}'",
                        self.spec.resource
                    )));
                }
                Some(_) => backoff(attempt).await,
            }
        }
        Err(DomainError::Conflict(format!(
            "{} '{id}' kept changing; gave up after {MAX_ATTEMPTS} attempts",
            self.spec.resource
        )))
    }

    /// Deletes the rows of `key`; whether any was deleted.
    pub async fn delete(&self, key: Key<'_>) -> Result<bool> {
        let first = self.spec.cols[0].column;
        let q = keyed(key).select(first);
        let rows = self
            .client
            .delete(self.spec.table, &q)
            .await
            .map_err(|e| domain(self.spec, &key_id(key), e))?;
        Ok(!rows.is_empty())
    }

    /// Deletes every row matching `filter`.
    pub async fn delete_where(&self, filter: Query) -> Result<usize> {
        let first = self.spec.cols[0].column;
        let rows = self
            .client
            .delete(self.spec.table, &filter.select(first))
            .await
            .map_err(|e| domain(self.spec, "", e))?;
        Ok(rows.len())
    }
}
