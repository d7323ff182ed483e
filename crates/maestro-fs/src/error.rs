//! The crate's error type, mapped into [`DomainError`] at the port boundary.

use std::fmt;
use std::path::PathBuf;

use maestro_domain::DomainError;

/// A data file that could not be loaded at start-up, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptFile {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for CorruptFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.reason)
    }
}

/// Everything the FileSystem adapters can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// Another store (in this or another process) holds the data directory's lock file.
    #[error(
        "data directory {} is already in use by another maestro-server ({}); lock file {}. \
         Stop that process or point DATA_DIR elsewhere",
        dir.display(),
        holder_text(*pid),
        lock_file.display()
    )]
    Locked {
        dir: PathBuf,
        lock_file: PathBuf,
        pid: Option<u32>,
    },

    /// A file-system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Start-up refused because of unreadable files ([`crate::CorruptPolicy::Refuse`]).
    #[error("refusing to start: {} corrupt file(s) in the data directory: {}", files.len(), list(files))]
    Corrupt { files: Vec<CorruptFile> },

    /// A record could not be serialised (a bug: every model type serialises).
    #[error("cannot serialise {what}: {source}")]
    Serialize {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// The blocking I/O task was cancelled or panicked.
    #[error("background I/O task failed: {0}")]
    Task(String),
}

fn holder_text(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("held by pid {pid}"),
        None => "holder pid unknown".to_string(),
    }
}

fn list(files: &[CorruptFile]) -> String {
    files
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl FsError {
    /// An I/O error on `path` during `op`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl From<FsError> for DomainError {
    fn from(e: FsError) -> Self {
        match e {
            FsError::Io { .. } | FsError::Locked { .. } | FsError::Corrupt { .. } => {
                DomainError::Unavailable(e.to_string())
            }
            FsError::Serialize { .. } | FsError::Task(_) => DomainError::Internal(e.to_string()),
        }
    }
}
