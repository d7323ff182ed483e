//! The command's one error type, and the exit status each error ends with.

use std::path::PathBuf;

use maestro_client::ClientError;

/// What can make a command fail.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// The server (or the network) refused the request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The command line lacks something it needs (a project, a session, a credential).
    #[error("{0}")]
    Usage(String),
    /// Signing in or refreshing the sign-in failed.
    #[error("sign-in: {0}")]
    Auth(String),
    /// The credential file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A local operation failed (a child process, the terminal).
    #[error("{0}")]
    Failed(String),
}

impl CtlError {
    /// `2` for a usage error, `1` for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Usage(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = CtlError> = std::result::Result<T, E>;
