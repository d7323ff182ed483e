//! Configuration of [`crate::FsStore`].

use std::path::PathBuf;

/// What start-up does with a data file it cannot load (truncated, not JSON, wrong shape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CorruptPolicy {
    /// Report it (tracing `warn` with its path), keep a `<file>.corrupt` copy and start
    /// without that record.
    #[default]
    Skip,
    /// Refuse to start with [`crate::FsError::Corrupt`] listing every such file; nothing in
    /// the data directory is changed.
    Refuse,
}

/// Where the data lives and how strict loading is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsConfig {
    /// `<DATA_DIR>` (default `~/.maestro/data` is resolved by the server's configuration).
    pub data_dir: PathBuf,
    pub corrupt_policy: CorruptPolicy,
}

impl FsConfig {
    /// A configuration with [`CorruptPolicy::Skip`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            corrupt_policy: CorruptPolicy::Skip,
        }
    }

    /// Sets the corrupt-file policy.
    #[must_use]
    pub fn with_corrupt_policy(mut self, policy: CorruptPolicy) -> Self {
        self.corrupt_policy = policy;
        self
    }
}
