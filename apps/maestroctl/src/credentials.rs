//! The stored credential: `~/.maestro/auth.json`, readable by its owner only (mode 0600),
//! replaced atomically (written to a temporary file in the same directory, then renamed).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CtlError, Result};

/// A credential for one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    /// The server it is for; it is never sent to another one.
    pub server: String,
    #[serde(flatten)]
    pub kind: CredentialKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CredentialKind {
    /// A static bearer token (`MAESTRO_API_TOKEN`, a project API key).
    #[serde(rename_all = "camelCase")]
    Token { token: String },
    /// A Supabase Auth session, refreshed before it expires.
    #[serde(rename_all = "camelCase")]
    Supabase {
        supabase_url: String,
        anon_key: String,
        access_token: String,
        refresh_token: String,
        /// Epoch seconds.
        expires_at: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
}

/// Where the credential lives.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
}

impl CredentialStore {
    /// `$HOME/.maestro/auth.json`.
    pub fn in_home(home: &Path) -> Self {
        Self {
            path: home.join(".maestro").join("auth.json"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> CtlError {
        CtlError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The stored credential; `None` when there is none. A file that is not a credential is
    /// an error (it is never silently replaced by `load`).
    pub fn load(&self) -> Result<Option<Credential>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        warn_if_readable_by_others(&self.path);
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            CtlError::Auth(format!(
                "{} is not a credential file ({e}); remove it or run `maestroctl auth login`",
                self.path.display()
            ))
        })
    }

    /// Replaces the stored credential.
    pub fn save(&self, cred: &Credential) -> Result<()> {
        let dir = self
            .path
            .parent()
            .ok_or_else(|| self.io(std::io::Error::other("no parent directory")))?;
        create_private_dir(dir).map_err(|e| self.io(e))?;
        let mut bytes = serde_json::to_vec_pretty(cred)
            .map_err(|e| CtlError::Failed(format!("cannot encode the credential: {e}")))?;
        bytes.push(b'\n');
        let tmp = dir.join(format!(".auth.json.{}.tmp", std::process::id()));
        let written = (|| {
            let mut f = open_private(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(|e| self.io(e))
    }

    /// Removes the stored credential; `false` when there was none.
    pub fn remove(&self) -> Result<bool> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io(e)),
        }
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the credential file is readable by other users; run `chmod 600` on it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(server: &str) -> Credential {
        Credential {
            server: server.into(),
            kind: CredentialKind::Token {
                token: "t0k3n".into(),
            },
        }
    }

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_home(dir.path());
        assert_eq!(store.load().unwrap(), None);
        store.save(&token("http://a")).unwrap();
        store.save(&token("http://b")).unwrap();
        assert_eq!(store.load().unwrap(), Some(token("http://b")));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".maestro"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["auth.json"], "no temporary file left");
        assert!(store.remove().unwrap());
        assert!(!store.remove().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_home(dir.path());
        store.save(&token("http://a")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(&dir.path().join(".maestro")), 0o700);
    }

    #[test]
    fn a_broken_file_is_an_error_not_a_blank() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::in_home(dir.path());
        std::fs::create_dir_all(dir.path().join(".maestro")).unwrap();
        std::fs::write(store.path(), "{not json").unwrap();
        assert!(store.load().is_err());
    }
}
