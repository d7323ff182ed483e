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
                return Err(FsError::Locked {
                    dir: dir.to_path_buf(),
                    lock_file: path,
                    pid: recorded_pid(&mut file),
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

/// The pid the holder wrote in the lock file, if readable.
fn recorded_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Who holds a data directory's lock, as [`lock_holder`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHolder {
    /// Nobody: a store could open the directory now.
    Free,
    /// Another open store (in this process or another one), with the pid it recorded.
    Held { pid: Option<u32> },
}

/// Whether `dir`'s lock is free, without keeping it (a missing lock file is free); for
/// diagnostics such as `maestro-server doctor`.
pub fn lock_holder(dir: &Path) -> Result<LockHolder, FsError> {
    let path = dir.join(crate::layout::LOCK_FILE);
    let mut file = match OpenOptions::new().read(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockHolder::Free),
        Err(e) => return Err(FsError::io("open lock file", &path, e)),
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(LockHolder::Free)
        }
        Err(TryLockError::WouldBlock) => Ok(LockHolder::Held {
            pid: recorded_pid(&mut file),
        }),
        Err(TryLockError::Error(e)) => Err(FsError::io("lock", &path, e)),
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
