//! Modal pages on disk: `<dir>/<modalId>.html` and, beside it, `<modalId>.session` naming the
//! session that showed it (API.md #27, DEFECTS S7).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use maestro_domain::ports::ModalPages;
use maestro_domain::{DomainError, Result, validate};

/// Modal pages in one directory (`DATA_DIR/modals` in the server).
#[derive(Debug)]
pub struct FsModalPages {
    dir: PathBuf,
    /// Makes every temporary file name unique, so concurrent saves of one page never share one.
    tmp_seq: AtomicU64,
}

impl FsModalPages {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            tmp_seq: AtomicU64::new(0),
        }
    }

    fn html_path(&self, modal_id: &str) -> PathBuf {
        self.dir.join(format!("{modal_id}.html"))
    }

    fn owner_path(&self, modal_id: &str) -> PathBuf {
        self.dir.join(format!("{modal_id}.session"))
    }

    /// Writes `bytes` to a unique temporary file, syncs it and renames it over `path`.
    async fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let n = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let result = async {
            tokio::fs::write(&tmp, bytes)
                .await
                .map_err(|e| io(&tmp, e))?;
            let file = tokio::fs::File::open(&tmp).await.map_err(|e| io(&tmp, e))?;
            file.sync_all().await.map_err(|e| io(&tmp, e))?;
            tokio::fs::rename(&tmp, path).await.map_err(|e| io(path, e))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }
}

#[async_trait]
impl ModalPages for FsModalPages {
    async fn save(&self, session_id: &str, modal_id: &str, html: &str) -> Result<String> {
        validate::safe_id("modalId", modal_id)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| io(&self.dir, e))?;
        let path = self.html_path(modal_id);
        self.write_atomic(&path, html.as_bytes()).await?;
        self.write_atomic(&self.owner_path(modal_id), session_id.as_bytes())
            .await?;
        Ok(std::path::absolute(&path)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned())
    }

    async fn shown_by(&self, session_id: &str, modal_id: &str) -> Result<bool> {
        if !validate::is_safe_id(modal_id) {
            return Ok(false);
        }
        match tokio::fs::read_to_string(self.owner_path(modal_id)).await {
            Ok(owner) => Ok(owner == session_id),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(&self.owner_path(modal_id), e)),
        }
    }

    async fn remove_session(&self, session_id: &str) -> Result<()> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&self.dir, e)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(|e| io(&self.dir, e))? {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("session") {
                continue;
            }
            // A page another process removed meanwhile is not an error.
            let Ok(owner) = tokio::fs::read_to_string(&path).await else {
                continue;
            };
            if owner == session_id {
                remove_if_present(&path.with_extension("html")).await?;
                remove_if_present(&path).await?;
            }
        }
        Ok(())
    }
}

async fn remove_if_present(path: &Path) -> Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path, e)),
    }
}

fn io(path: &Path, e: std::io::Error) -> DomainError {
    DomainError::Unavailable(format!("{}: {e}", path.display()))
}
