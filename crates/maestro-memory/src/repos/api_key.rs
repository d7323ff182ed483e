//! [`MemoryApiKeyRepo`].

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use maestro_domain::model::ApiKey;
use maestro_domain::ports::ApiKeyRepo;
use maestro_domain::{DomainError, Result};

/// API keys keyed by (projectId, keyId).
#[derive(Default)]
pub struct MemoryApiKeyRepo {
    keys: RwLock<BTreeMap<(String, String), ApiKey>>,
}

impl MemoryApiKeyRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ApiKeyRepo for MemoryApiKeyRepo {
    async fn create(&self, key: ApiKey) -> Result<ApiKey> {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let k = (key.project_id.clone(), key.id.clone());
        if keys.contains_key(&k) {
            return Err(DomainError::Conflict(format!(
                "API key '{}' already exists",
                key.id
            )));
        }
        keys.insert(k, key.clone());
        Ok(key)
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<ApiKey>> {
        Ok(self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(project_id.to_string(), id.to_string()))
            .cloned())
    }

    async fn list(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        let mut out: Vec<ApiKey> = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|k| k.project_id == project_id)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        Ok(self
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(project_id.to_string(), id.to_string()))
            .is_some())
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(p, _), _| p != project_id);
        Ok(())
    }
}
