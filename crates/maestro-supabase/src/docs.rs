//! [`BlobDocsSessionRepo`]: a [`SessionRepo`] decorator that keeps large session doc contents
//! in a [`BlobStore`] and serves them back transparently.
//!
//! On every write, each doc whose inline `content` is longer than the threshold (bytes) is
//! uploaded to `sessions/<sessionId>/docs/<docId>-<hash>` (content-addressed, so a key never
//! changes meaning) and stored without `content`; the session's stored `extra` gets a marker
//! `maestroBlobDocs: [{"index": i, "key": "…"}]`. Every read (get, list, the result of create
//! and update) puts the contents back and drops the marker, so callers always see exactly the
//! session they wrote. `update` stays an atomic read-modify-write: blobs needed by the new
//! version are uploaded before the inner update commits, and the inner mutator is retried
//! when the record moved on underneath. Deleting a session deletes its blobs (best effort);
//! blobs of a failed or superseded write may be left behind (never wrong, only unused).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use maestro_domain::model::Session;
use maestro_domain::ports::{Mutator, SessionFilter, SessionRepo};
use maestro_domain::{DomainError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use maestro_domain::ports::BlobStore;

/// The `extra` key of a stored session listing its offloaded docs.
pub const BLOB_DOCS_KEY: &str = "maestroBlobDocs";
/// Default threshold: doc contents longer than this many bytes go to the blob store.
pub const DEFAULT_DOC_THRESHOLD: usize = 64 * 1024;
const MAX_ATTEMPTS: u32 = 20;
const PARALLEL_FETCHES: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BlobRef {
    index: usize,
    key: String,
}

/// See the module docs.
pub struct BlobDocsSessionRepo {
    inner: Arc<dyn SessionRepo>,
    store: Arc<dyn BlobStore>,
    threshold: usize,
}

fn segment(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

fn blob_key(session_id: &str, doc_id: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(session_id.as_bytes());
    h.update([0]);
    h.update(doc_id.as_bytes());
    h.update([0]);
    h.update(content.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "sessions/{}/docs/{}-{hex}",
        segment(session_id),
        segment(doc_id)
    )
}

/// The blob references of a stored session (and the session without the marker).
fn take_refs(mut stored: Session) -> (Session, Vec<BlobRef>) {
    let refs = stored
        .extra
        .remove(BLOB_DOCS_KEY)
        .and_then(|v| serde_json::from_value::<Vec<BlobRef>>(v).ok())
        .unwrap_or_default();
    (stored, refs)
}

/// Blob contents by key; `None` = the blob is missing from the store (the doc is served
/// without content).
type Cache = HashMap<String, Option<String>>;

/// The view of `stored` from blob contents in `cache`; `None` if a key is not in `cache`.
fn hydrate_from(cache: &Cache, stored: &Session) -> Option<Session> {
    let (mut view, refs) = take_refs(stored.clone());
    for r in refs {
        let content = cache.get(&r.key)?;
        if let Some(doc) = view.docs.get_mut(r.index) {
            doc.content = content.clone();
        }
    }
    Some(view)
}

impl BlobDocsSessionRepo {
    pub fn new(inner: Arc<dyn SessionRepo>, store: Arc<dyn BlobStore>, threshold: usize) -> Self {
        Self {
            inner,
            store,
            threshold,
        }
    }

    /// The stored form of `view` and the blobs it needs (`key → content`).
    fn dehydrate(&self, view: &Session) -> (Session, Vec<(String, String)>) {
        let mut stored = view.clone();
        stored.extra.remove(BLOB_DOCS_KEY);
        let mut refs = Vec::new();
        let mut uploads = Vec::new();
        for (index, doc) in stored.docs.iter_mut().enumerate() {
            if doc
                .content
                .as_ref()
                .is_some_and(|c| c.len() > self.threshold)
                && let Some(content) = doc.content.take()
            {
                let key = blob_key(&view.id, &doc.id, &content);
                refs.push(BlobRef {
                    index,
                    key: key.clone(),
                });
                uploads.push((key, content));
            }
        }
        if !refs.is_empty()
            && let Ok(v) = serde_json::to_value(&refs)
        {
            stored.extra.insert(BLOB_DOCS_KEY.to_owned(), v);
        }
        (stored, uploads)
    }

    async fn upload(&self, uploads: Vec<(String, String)>, cache: &mut Cache) -> Result<()> {
        for (key, content) in uploads {
            if cache.contains_key(&key) {
                continue;
            }
            self.store
                .put(
                    &key,
                    content.clone().into_bytes(),
                    "text/markdown; charset=utf-8",
                )
                .await?;
            cache.insert(key, Some(content));
        }
        Ok(())
    }

    /// Downloads the blobs of `stored` missing from `cache`. A missing blob is reported and
    /// its doc served without content.
    async fn fetch(&self, stored: &Session, cache: &mut Cache) -> Result<()> {
        let (_, refs) = take_refs(stored.clone());
        let wanted: Vec<String> = refs
            .into_iter()
            .map(|r| r.key)
            .filter(|k| !cache.contains_key(k))
            .collect();
        let fetched: Vec<(String, Result<Option<Vec<u8>>>)> = stream::iter(wanted)
            .map(|key| async move {
                let got = self.store.get(&key).await;
                (key, got)
            })
            .buffer_unordered(PARALLEL_FETCHES)
            .collect()
            .await;
        for (key, got) in fetched {
            match got? {
                Some(bytes) => {
                    let text = String::from_utf8(bytes).map_err(|_| {
                        DomainError::Internal(format!("doc blob '{key}' is not UTF-8"))
                    })?;
                    cache.insert(key, Some(text));
                }
                None => {
                    tracing::warn!(session = %stored.id, key, "doc blob is missing; serving the doc without content");
                    cache.insert(key, None);
                }
            }
        }
        Ok(())
    }

    /// The view of a stored session (contents fetched).
    async fn hydrate(&self, stored: Session) -> Result<Session> {
        let mut cache = Cache::new();
        self.fetch(&stored, &mut cache).await?;
        hydrate_from(&cache, &stored).ok_or_else(|| {
            DomainError::Internal(format!(
                "session '{}': doc blobs could not be read",
                stored.id
            ))
        })
    }
}

#[async_trait]
impl SessionRepo for BlobDocsSessionRepo {
    async fn create(&self, session: Session) -> Result<Session> {
        let (stored, uploads) = self.dehydrate(&session);
        let mut cache = Cache::new();
        self.upload(uploads, &mut cache).await?;
        let created = self.inner.create(stored).await?;
        hydrate_from(&cache, &created).ok_or_else(|| {
            DomainError::Internal(format!(
                "session '{}' lost a doc blob reference",
                session.id
            ))
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Session>> {
        match self.inner.get(id).await? {
            Some(stored) => Ok(Some(self.hydrate(stored).await?)),
            None => Ok(None),
        }
    }

    async fn list(&self, filter: &SessionFilter) -> Result<Vec<Session>> {
        let stored = self.inner.list(filter).await?;
        let views: Vec<Result<Session>> = stream::iter(stored)
            .map(|s| self.hydrate(s))
            .buffered(PARALLEL_FETCHES)
            .collect()
            .await;
        views.into_iter().collect()
    }

    async fn update<'a>(&self, id: &str, change: Mutator<'a, Session>) -> Result<Session> {
        let mut cache = Cache::new();
        for _ in 0..MAX_ATTEMPTS {
            let Some(stored) = self.inner.get(id).await? else {
                return Err(DomainError::not_found("Session", id));
            };
            self.fetch(&stored, &mut cache).await?;
            let Some(view) = hydrate_from(&cache, &stored) else {
                return Err(DomainError::Internal(format!(
                    "session '{id}': doc blobs could not be read"
                )));
            };
            // Dry run on the current version: upload what the new version will need.
            let mut next = view.clone();
            change(&mut next)?;
            if next == view {
                return Ok(next);
            }
            let (_, uploads) = self.dehydrate(&next);
            self.upload(uploads, &mut cache).await?;
            if let Some(done) = self.finish(id, change, &cache).await? {
                return Ok(done);
            }
        }
        Err(DomainError::Conflict(format!(
            "session '{id}' kept changing; gave up after {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        let stored = self.inner.get(id).await?;
        let deleted = self.inner.delete(id).await?;
        if deleted && let Some(stored) = stored {
            let (_, refs) = take_refs(stored);
            for r in refs {
                if let Err(e) = self.store.delete(&r.key).await {
                    tracing::warn!(session = id, key = r.key, error = %e, "could not delete a doc blob");
                }
            }
        }
        Ok(deleted)
    }
}

impl BlobDocsSessionRepo {
    /// The inner atomic update with `change` applied to the view; `Ok(None)` when the record
    /// moved on to blobs not in `cache` (retry).
    async fn finish(
        &self,
        id: &str,
        change: Mutator<'_, Session>,
        cache: &Cache,
    ) -> Result<Option<Session>> {
        let retry = AtomicBool::new(false);
        let wrapped = |s: &mut Session| -> Result<()> {
            let Some(view) = hydrate_from(cache, s) else {
                retry.store(true, Ordering::SeqCst);
                return Err(DomainError::Conflict("retry".into()));
            };
            let mut next = view.clone();
            change(&mut next)?;
            if next == view {
                return Ok(());
            }
            let (stored, uploads) = self.dehydrate(&next);
            if uploads.iter().any(|(k, _)| !cache.contains_key(k)) {
                retry.store(true, Ordering::SeqCst);
                return Err(DomainError::Conflict("retry".into()));
            }
            *s = stored;
            Ok(())
        };
        match self.inner.update(id, &wrapped).await {
            Ok(stored) => Ok(hydrate_from(cache, &stored)),
            Err(_) if retry.load(Ordering::SeqCst) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
