//! The data-directory lock: one store per directory, across processes and within one.
//!
//! An advisory exclusive lock (`flock` on Unix, `LockFileEx` on Windows, through
//! [`std::fs::File::try_lock`]) on `<DATA_DIR>/maestro-server.lock`, whose content is the
//! holder's pid. The OS drops the lock when the holder exits, even on SIGKILL, so a stale
//! file never blocks a restart.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::FsError;

/// Held for as long as the store (any of its repository handles) lives.
#[derive(Debug)]
pub(crate) struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock of `dir` (which must exist) or fails with [`FsError::Locked`].
    pub(crate) fn acquire(dir: &Path, path: PathBuf) -> Result<Self, FsError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| FsError::io("open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse::<u32>().ok());
                return Err(FsError::Locked {
                    dir: dir.to_path_buf(),
                    lock_file: path,
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(FsError::io("lock", &path, e)),
        }
        let pid = std::process::id().to_string();
        let wrote = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .and_then(|()| file.sync_all());
        if let Err(e) = wrote {
            // The lock itself is what matters; the pid is only a hint for the error message.
            tracing::warn!(path = %path.display(), error = %e, "cannot record pid in lock file");
        }
        Ok(Self { file, path })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Leave the file in place (removing it would race with a new holder); clear the pid.
        let _ = self.file.set_len(0);
        if let Err(e) = self.file.unlock() {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot release data-dir lock");
        }
    }
}
