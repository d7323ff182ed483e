//! `ordering/<entityType>/<projectId>.json`; in-memory key = (entity type, project id).
//!
//! [`Ordering`] has no field for unknown keys, so they are kept beside it in the cache and
//! laid back into the file on every save.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use maestro_domain::Result;
use maestro_domain::model::{EntityType, JsonObject, Ordering};
use maestro_domain::ports::OrderingRepo;
use serde_json::Value;

use super::{read, run_locked, write};
use crate::dirlock::DirLock;
use crate::durable::{remove_durable, to_json, write_atomic};
use crate::error::FsError;
use crate::keylocks::KeyLocks;
use crate::layout::{Layout, SafeId};

/// One stored ordering and the unknown keys of its file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderingEntry {
    pub(crate) ordering: Ordering,
    pub(crate) extra: JsonObject,
}

pub(crate) type OrderingMap = HashMap<(EntityType, String), OrderingEntry>;

/// The ordering repository. Writers are serialised per project.
#[derive(Debug)]
pub(crate) struct Orderings {
    layout: Layout,
    data: Arc<RwLock<OrderingMap>>,
    locks: KeyLocks,
    _dir_lock: Arc<DirLock>,
}

impl Orderings {
    pub(crate) fn new(layout: Layout, data: OrderingMap, dir_lock: Arc<DirLock>) -> Self {
        Self {
            layout,
            data: Arc::new(RwLock::new(data)),
            locks: KeyLocks::default(),
            _dir_lock: dir_lock,
        }
    }
}

/// The file content of an entry: the known fields, then the preserved unknown keys.
pub(crate) fn entry_json(entry: &OrderingEntry) -> Result<Vec<u8>, FsError> {
    let mut obj = match serde_json::to_value(&entry.ordering) {
        Ok(Value::Object(o)) => o,
        Ok(_) => JsonObject::new(),
        Err(source) => {
            return Err(FsError::Serialize {
                what: "Ordering".into(),
                source,
            });
        }
    };
    for (k, v) in &entry.extra {
        if !obj.contains_key(k) {
            obj.insert(k.clone(), v.clone());
        }
    }
    to_json(&obj, "Ordering")
}

#[async_trait]
impl OrderingRepo for Orderings {
    async fn get(&self, project_id: &str, entity_type: EntityType) -> Result<Option<Ordering>> {
        SafeId::new("projectId", project_id)?;
        Ok(read(&self.data)
            .get(&(entity_type, project_id.to_string()))
            .map(|e| e.ordering.clone()))
    }

    async fn save(&self, ordering: Ordering) -> Result<Ordering> {
        let pid = SafeId::new("projectId", &ordering.project_id)?;
        let path = self.layout.ordering_file(ordering.entity_type, pid);
        let key = (ordering.entity_type, ordering.project_id.clone());
        let guard = self.locks.lock(&ordering.project_id).await;
        let extra = read(&self.data)
            .get(&key)
            .map(|e| e.extra.clone())
            .unwrap_or_default();
        let entry = OrderingEntry {
            ordering: ordering.clone(),
            extra,
        };
        let bytes = entry_json(&entry)?;
        let data = Arc::clone(&self.data);
        run_locked(guard, move || {
            write_atomic(&path, &bytes)?;
            write(&data).insert(key, entry);
            Ok(())
        })
        .await?;
        Ok(ordering)
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        let pid = SafeId::new("projectId", project_id)?;
        let guard = self.locks.lock(project_id).await;
        let targets: Vec<_> = [EntityType::Task, EntityType::Session]
            .into_iter()
            .map(|kind| (kind, self.layout.ordering_file(kind, pid)))
            .collect();
        let data = Arc::clone(&self.data);
        let project_id = project_id.to_string();
        run_locked(guard, move || {
            for (kind, path) in targets {
                remove_durable(&path)?;
                write(&data).remove(&(kind, project_id.clone()));
            }
            Ok(())
        })
        .await
    }
}
