//! `api-keys/<projectId>/<keyId>.json`: project API keys (hashed), read from disk on each call
//! (a key is checked once per request that carries one; there are few) and written durably.
//! Writers are serialised by one lock, so a create's existence check and write are atomic.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use maestro_domain::model::ApiKey;
use maestro_domain::ports::ApiKeyRepo;
use maestro_domain::{DomainError, Result};

use super::{run_blocking, run_locked};
use crate::durable::{ensure_dir, read_json, read_json_dir, remove_durable, to_json, write_atomic};
use crate::error::FsError;
use crate::layout::{Layout, SafeId};

/// The FileSystem [`ApiKeyRepo`].
pub struct FsApiKeys {
    layout: Layout,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl FsApiKeys {
    pub(crate) fn new(layout: Layout) -> Self {
        Self {
            layout,
            writer: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn dir(&self, project_id: &str) -> Result<PathBuf> {
        Ok(self
            .layout
            .api_key_project_dir(SafeId::new("projectId", project_id)?))
    }

    fn file(&self, project_id: &str, id: &str) -> Result<PathBuf> {
        Ok(self.layout.api_key_file(
            SafeId::new("projectId", project_id)?,
            SafeId::new("id", id)?,
        ))
    }
}

#[async_trait]
impl ApiKeyRepo for FsApiKeys {
    async fn create(&self, key: ApiKey) -> Result<ApiKey> {
        let dir = self.dir(&key.project_id)?;
        let path = self.file(&key.project_id, &key.id)?;
        let bytes = to_json(&key, "API key")?;
        let guard = self.writer.clone().lock_owned().await;
        let exists = run_locked(guard, move || {
            ensure_dir(&dir)?;
            if path.exists() {
                return Ok(true);
            }
            write_atomic(&path, &bytes)?;
            Ok(false)
        })
        .await?;
        if exists {
            return Err(DomainError::Conflict(format!(
                "API key '{}' already exists",
                key.id
            )));
        }
        Ok(key)
    }

    async fn get(&self, project_id: &str, id: &str) -> Result<Option<ApiKey>> {
        let path = self.file(project_id, id)?;
        run_blocking(move || read_json(&path, "parse API key file")).await
    }

    async fn list(&self, project_id: &str) -> Result<Vec<ApiKey>> {
        let dir = self.dir(project_id)?;
        let mut keys: Vec<ApiKey> =
            run_blocking(move || read_json_dir(&dir, "parse API key file")).await?;
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn delete(&self, project_id: &str, id: &str) -> Result<bool> {
        let path = self.file(project_id, id)?;
        let guard = self.writer.clone().lock_owned().await;
        run_locked(guard, move || remove_durable(&path)).await
    }

    async fn delete_project(&self, project_id: &str) -> Result<()> {
        let dir = self.dir(project_id)?;
        let guard = self.writer.clone().lock_owned().await;
        run_locked(guard, move || match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FsError::io("remove directory", &dir, e)),
        })
        .await
    }
}
