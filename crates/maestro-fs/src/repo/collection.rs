//! The generic one-file-per-record collection behind projects, tasks, sessions and mail.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use maestro_domain::model::Millis;
use maestro_domain::ports::Mutator;
use maestro_domain::{DomainError, Result};
use serde::Serialize;

use super::{read, run_locked, write};
use crate::dirlock::DirLock;
use crate::durable::{ensure_dir, remove_durable, to_json, write_atomic};
use crate::keylocks::KeyLocks;
use crate::layout::{Layout, SafeId};

/// A record stored as `<dir>/<id>.json`.
pub(crate) trait Record: Clone + PartialEq + Serialize + Send + Sync + 'static {
    /// Resource name of not-found errors (`Task with id 'x' not found`).
    const RESOURCE: &'static str;

    fn id(&self) -> &str;
    /// The project a record is indexed under, if the collection keeps a project index.
    fn project_key(&self) -> Option<&str>;
    /// Creation time: listings are sorted by it, ties by id.
    fn created(&self) -> Millis;
    /// The record's file; validates every id that becomes a path component.
    fn path(&self, layout: &Layout) -> Result<PathBuf>;
    /// Rejects changes an update may not make (the id, which names the file).
    fn check_update(before: &Self, after: &Self) -> Result<()> {
        if before.id() == after.id() {
            Ok(())
        } else {
            Err(DomainError::invalid_field("id", "id cannot be changed"))
        }
    }
}

/// Records by id, plus the ids of each project's records.
#[derive(Debug)]
pub(crate) struct Indexed<V> {
    by_id: HashMap<String, V>,
    by_project: HashMap<String, BTreeSet<String>>,
}

impl<V> Default for Indexed<V> {
    fn default() -> Self {
        Self {
            by_id: HashMap::new(),
            by_project: HashMap::new(),
        }
    }
}

impl<V: Record> Indexed<V> {
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        self.by_id.get(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn insert(&mut self, v: V) {
        self.remove(v.id());
        if let Some(p) = v.project_key() {
            self.by_project
                .entry(p.to_string())
                .or_default()
                .insert(v.id().to_string());
        }
        self.by_id.insert(v.id().to_string(), v);
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<V> {
        let old = self.by_id.remove(id)?;
        if let Some(p) = old.project_key()
            && let Some(set) = self.by_project.get_mut(p)
        {
            set.remove(id);
            if set.is_empty() {
                self.by_project.remove(p);
            }
        }
        Some(old)
    }

    /// Clones of the matching records, sorted by creation time then id. With `project`, only
    /// that project's records are visited.
    pub(crate) fn select(&self, project: Option<&str>, keep: impl Fn(&V) -> bool) -> Vec<V> {
        let mut out: Vec<V> = match project {
            Some(p) => self
                .by_project
                .get(p)
                .into_iter()
                .flatten()
                .filter_map(|id| self.by_id.get(id))
                .filter(|v| keep(v))
                .cloned()
                .collect(),
            None => self.by_id.values().filter(|v| keep(v)).cloned().collect(),
        };
        out.sort_by(|a, b| {
            a.created()
                .cmp(&b.created())
                .then_with(|| a.id().cmp(b.id()))
        });
        out
    }
}

/// One collection: cache, writer locks and the directory it writes to.
#[derive(Debug)]
pub(crate) struct Collection<V> {
    layout: Layout,
    data: Arc<RwLock<Indexed<V>>>,
    locks: KeyLocks,
    _dir_lock: Arc<DirLock>,
}

impl<V: Record> Collection<V> {
    pub(crate) fn new(layout: Layout, data: Indexed<V>, dir_lock: Arc<DirLock>) -> Self {
        Self {
            layout,
            data: Arc::new(RwLock::new(data)),
            locks: KeyLocks::default(),
            _dir_lock: dir_lock,
        }
    }

    pub(crate) fn get(&self, id: &str) -> Result<Option<V>> {
        SafeId::new("id", id)?;
        Ok(read(&self.data).get(id).cloned())
    }

    pub(crate) fn select(&self, project: Option<&str>, keep: impl Fn(&V) -> bool) -> Vec<V> {
        read(&self.data).select(project, keep)
    }

    pub(crate) async fn create(&self, record: V) -> Result<V> {
        let path = record.path(&self.layout)?;
        let guard = self.locks.lock(record.id()).await;
        if read(&self.data).get(record.id()).is_some() {
            return Err(DomainError::Conflict(format!(
                "{} with id '{}' already exists",
                V::RESOURCE,
                record.id()
            )));
        }
        let bytes = to_json(&record, V::RESOURCE)?;
        let data = Arc::clone(&self.data);
        let stored = record.clone();
        run_locked(guard, move || {
            if let Some(dir) = path.parent() {
                ensure_dir(dir)?;
            }
            write_atomic(&path, &bytes)?;
            write(&data).insert(stored);
            Ok(())
        })
        .await?;
        Ok(record)
    }

    pub(crate) async fn update(&self, id: &str, change: Mutator<'_, V>) -> Result<V> {
        SafeId::new("id", id)?;
        let guard = self.locks.lock(id).await;
        let before = read(&self.data)
            .get(id)
            .cloned()
            .ok_or_else(|| DomainError::not_found(V::RESOURCE, id))?;
        let mut after = before.clone();
        change(&mut after)?;
        if after == before {
            return Ok(after);
        }
        V::check_update(&before, &after)?;
        let old_path = before.path(&self.layout)?;
        let path = after.path(&self.layout)?;
        let bytes = to_json(&after, V::RESOURCE)?;
        let data = Arc::clone(&self.data);
        let stored = after.clone();
        run_locked(guard, move || {
            if let Some(dir) = path.parent() {
                ensure_dir(dir)?;
            }
            write_atomic(&path, &bytes)?;
            if old_path != path {
                // The record moved (a task changed project): drop the old file, or undo.
                if let Err(e) = remove_durable(&old_path) {
                    if let Err(undo) = remove_durable(&path) {
                        tracing::error!(
                            old = %old_path.display(), new = %path.display(), error = %undo,
                            "record now has two files; the older is reported at next start"
                        );
                    }
                    return Err(e);
                }
            }
            write(&data).insert(stored);
            Ok(())
        })
        .await?;
        Ok(after)
    }

    pub(crate) async fn delete(&self, id: &str) -> Result<bool> {
        SafeId::new("id", id)?;
        let guard = self.locks.lock(id).await;
        let Some(existing) = read(&self.data).get(id).cloned() else {
            return Ok(false);
        };
        let path = existing.path(&self.layout)?;
        let data = Arc::clone(&self.data);
        let id = id.to_string();
        run_locked(guard, move || {
            remove_durable(&path)?;
            write(&data).remove(&id);
            Ok(true)
        })
        .await
    }
}
