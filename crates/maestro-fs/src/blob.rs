//! [`FsBlobStore`]: the FileSystem adapter of the [`BlobStore`] port (bytes under a key, as
//! files under a root directory).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use maestro_domain::ports::{BlobStore, validate_blob_key};
use maestro_domain::{DomainError, Result};

/// Blobs as files under a root directory: `<root>/<key>`. Writes go to a temp file in the
/// same directory, are fsynced and renamed over the target.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

fn io_error(path: &Path, e: &std::io::Error) -> DomainError {
    DomainError::Unavailable(format!("blob I/O failed on {}: {e}", path.display()))
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_blob_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<()> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || -> Result<()> {
            use std::io::Write as _;
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("blob")
                .to_owned();
            let tmp = dir.join(format!(
                ".{name}.{}-{}.tmp",
                std::process::id(),
                TMP_SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            };
            write().map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                io_error(&path, &e)
            })
        })
        .await
        .map_err(|e| DomainError::Internal(format!("blob write task failed: {e}")))?
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(validate_blob_key("sessions/sess_1/docs/doc_1-abc.md").is_ok());
        for bad in ["", "/a", "a/", "a//b", "../a", "a/./b", "a b", "a\\b", "ü"] {
            assert!(validate_blob_key(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn fs_store_puts_gets_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path());
        assert_eq!(store.get("a/b.txt").await.unwrap(), None);
        store
            .put("a/b.txt", b"one".to_vec(), "text/plain")
            .await
            .unwrap();
        store
            .put("a/b.txt", b"two".to_vec(), "text/plain")
            .await
            .unwrap();
        assert_eq!(store.get("a/b.txt").await.unwrap(), Some(b"two".to_vec()));
        assert!(store.delete("a/b.txt").await.unwrap());
        assert!(!store.delete("a/b.txt").await.unwrap());
        assert!(store.get("../escape").await.is_err());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("a")).unwrap().collect();
        assert!(leftovers.is_empty(), "temp files left behind");
    }
}
