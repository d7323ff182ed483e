//! Modal pages on disk: `<dir>/<modalId>.html` and, beside it, `<modalId>.session` naming the
//! session that showed it (API.md #27, DEFECTS S7) and, while nobody has answered it,
//! `<modalId>.pending` (JSON: the session, title and time it was shown).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use maestro_domain::model::Millis;
use maestro_domain::ports::{ModalPage, ModalPages, PendingModal};
use maestro_domain::{DomainError, Result, validate};
use serde::{Deserialize, Serialize};

/// What `<modalId>.pending` holds (the page itself stays in its `.html`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Waiting {
    session_id: String,
    title: String,
    shown_at: Millis,
}

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

    fn pending_path(&self, modal_id: &str) -> PathBuf {
        self.dir.join(format!("{modal_id}.pending"))
    }

    /// The page `modal_id` if `.pending` names one of `sessions` and that session still owns
    /// it; `None` for a page answered, replaced or removed meanwhile.
    async fn waiting(&self, modal_id: &str, sessions: &[String]) -> Result<Option<PendingModal>> {
        let Some(bytes) = read_if_present(&self.pending_path(modal_id)).await? else {
            return Ok(None);
        };
        let Ok(waiting) = serde_json::from_slice::<Waiting>(&bytes) else {
            tracing::warn!(modal = %modal_id, "unreadable .pending file; not listed");
            return Ok(None);
        };
        if !sessions.contains(&waiting.session_id)
            || !self.shown_by(&waiting.session_id, modal_id).await?
        {
            return Ok(None);
        }
        let path = self.html_path(modal_id);
        let Some(html) = read_if_present(&path).await? else {
            return Ok(None);
        };
        Ok(Some(PendingModal {
            page: ModalPage {
                session_id: waiting.session_id,
                modal_id: modal_id.to_string(),
                title: waiting.title,
                html: String::from_utf8_lossy(&html).into_owned(),
                shown_at: waiting.shown_at,
            },
            location: location(path),
        }))
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
    async fn save(&self, page: &ModalPage) -> Result<String> {
        let modal_id = page.modal_id.as_str();
        validate::safe_id("modalId", modal_id)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| io(&self.dir, e))?;
        let path = self.html_path(modal_id);
        self.write_atomic(&path, page.html.as_bytes()).await?;
        self.write_atomic(&self.owner_path(modal_id), page.session_id.as_bytes())
            .await?;
        let waiting = Waiting {
            session_id: page.session_id.clone(),
            title: page.title.clone(),
            shown_at: page.shown_at,
        };
        let json = serde_json::to_vec(&waiting)
            .map_err(|e| DomainError::Internal(format!("modal {modal_id}: {e}")))?;
        self.write_atomic(&self.pending_path(modal_id), &json)
            .await?;
        Ok(location(path))
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

    async fn settle(&self, session_id: &str, modal_id: &str) -> Result<()> {
        if self.shown_by(session_id, modal_id).await? {
            remove_if_present(&self.pending_path(modal_id)).await?;
        }
        Ok(())
    }

    async fn pending(&self, session_ids: &[String]) -> Result<Vec<PendingModal>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir, e)),
        };
        let mut found = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|e| io(&self.dir, e))? {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pending") {
                continue;
            }
            let Some(modal_id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if !validate::is_safe_id(modal_id) {
                continue;
            }
            if let Some(page) = self.waiting(modal_id, session_ids).await? {
                found.push(page);
            }
        }
        found.sort_by(|a, b| {
            (a.page.shown_at, &a.page.modal_id).cmp(&(b.page.shown_at, &b.page.modal_id))
        });
        Ok(found)
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
                remove_if_present(&path.with_extension("pending")).await?;
                remove_if_present(&path.with_extension("html")).await?;
                remove_if_present(&path).await?;
            }
        }
        Ok(())
    }
}

fn location(path: PathBuf) -> String {
    std::path::absolute(&path)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The file's bytes, `None` when it does not exist (removed by another process meanwhile).
async fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
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
