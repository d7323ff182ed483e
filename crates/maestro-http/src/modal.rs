//! Modal HTML files (`<DATA_DIR>/modals/<modalId>.html`, API.md #27) and which session showed
//! which modal, so action/close callbacks can be checked (DEFECTS S7).

use std::path::{Path, PathBuf};

use maestro_domain::{DomainError, Result, validate};

/// Writes modal pages atomically and remembers their session in a sidecar file.
#[derive(Debug)]
pub struct ModalStore {
    dir: PathBuf,
}

impl ModalStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn html_path(&self, modal_id: &str) -> PathBuf {
        self.dir.join(format!("{modal_id}.html"))
    }

    fn owner_path(&self, modal_id: &str) -> PathBuf {
        self.dir.join(format!("{modal_id}.session"))
    }

    /// Stores the page; returns its absolute path.
    pub async fn save(&self, session_id: &str, modal_id: &str, html: &str) -> Result<String> {
        validate::safe_id("modalId", modal_id)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| io(&self.dir, e))?;
        let path = self.html_path(modal_id);
        write_atomic(&path, html.as_bytes()).await?;
        write_atomic(&self.owner_path(modal_id), session_id.as_bytes()).await?;
        Ok(std::path::absolute(&path)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned())
    }

    /// Deletes every modal page (and its owner file) shown by `session_id`.
    pub async fn remove_session(&self, session_id: &str) {
        let Ok(mut entries) = tokio::fs::read_dir(&self.dir).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("session") {
                continue;
            }
            let owner = tokio::fs::read_to_string(&path).await.unwrap_or_default();
            if owner == session_id {
                let _ = tokio::fs::remove_file(path.with_extension("html")).await;
                let _ = tokio::fs::remove_file(&path).await;
            }
        }
    }

    /// Whether `session_id` showed `modal_id`.
    pub async fn shown_by(&self, session_id: &str, modal_id: &str) -> bool {
        if !validate::is_safe_id(modal_id) {
            return false;
        }
        match tokio::fs::read_to_string(self.owner_path(modal_id)).await {
            Ok(owner) => owner == session_id,
            Err(_) => false,
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> DomainError {
    DomainError::Unavailable(format!("{}: {e}", path.display()))
}

async fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| io(&tmp, e))?;
    let file = tokio::fs::File::open(&tmp).await.map_err(|e| io(&tmp, e))?;
    file.sync_all().await.map_err(|e| io(&tmp, e))?;
    tokio::fs::rename(&tmp, path).await.map_err(|e| io(path, e))
}
