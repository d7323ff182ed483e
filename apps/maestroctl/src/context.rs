//! Everything a command runs with, resolved in one place: the server, the credential (the
//! stored one refreshed when it is about to expire), the project and session, the output.

use std::path::{Path, PathBuf};

use maestro_client::Client;

use crate::cli::Cli;
use crate::credentials::{Credential, CredentialKind, CredentialStore};
use crate::error::{CtlError, Result};
use crate::output::Output;
use crate::supabase;

/// The default of the original CLI and server.
pub const DEFAULT_SERVER: &str = "http://localhost:3000";

/// A stored Supabase session is refreshed when it expires within this many seconds.
const REFRESH_MARGIN_SECS: i64 = 60;

/// Where a credential in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `--token` / `MAESTRO_SESSION_TOKEN`.
    Flag,
    /// `~/.maestro/auth.json`.
    Stored,
    None,
}

pub struct Ctx {
    pub server: String,
    pub client: Client,
    pub out: Output,
    pub store: CredentialStore,
    pub token_source: TokenSource,
    project: Option<String>,
    session: Option<String>,
}

/// The process environment the context reads (besides the flags clap already read).
pub struct Env {
    pub home: Option<PathBuf>,
    /// `DATA_DIR`, where the server writes `server-url`.
    pub data_dir: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            home: std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .map(PathBuf::from),
            data_dir: std::env::var_os("DATA_DIR").map(PathBuf::from),
        }
    }
}

impl Ctx {
    /// Resolves the context of `cli`. The stored credential is used only for the server it
    /// was stored for, and refreshed (and saved) first when it is about to expire.
    pub async fn resolve(cli: &Cli, env: &Env) -> Result<Self> {
        let home = env.home.as_deref().ok_or_else(|| {
            CtlError::Usage("HOME is not set: cannot find ~/.maestro/auth.json".into())
        })?;
        let store = CredentialStore::in_home(home);
        let stored = store.load()?;
        let server = normalise(
            &cli.server
                .clone()
                .or_else(|| stored.as_ref().map(|c| c.server.clone()))
                .or_else(|| server_url_file(env, home))
                .unwrap_or_else(|| DEFAULT_SERVER.to_string()),
        );
        let (token, token_source) = match cli.token.clone().filter(|t| !t.is_empty()) {
            Some(t) => (Some(t), TokenSource::Flag),
            None => match stored {
                Some(c) if normalise(&c.server) == server => {
                    (Some(fresh_token(&store, c).await?), TokenSource::Stored)
                }
                _ => (None, TokenSource::None),
            },
        };
        let client = Client::builder(&server)
            .maybe_token(token)
            .user_agent(concat!("maestroctl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            server,
            client,
            out: Output::new(cli.json),
            store,
            token_source,
            project: cli.project.clone().filter(|p| !p.is_empty()),
            session: cli.session.clone().filter(|s| !s.is_empty()),
        })
    }

    /// `--project` / `MAESTRO_PROJECT_ID`.
    pub fn project(&self) -> Result<&str> {
        self.project.as_deref().ok_or_else(|| {
            CtlError::Usage("no project: pass --project ID or set MAESTRO_PROJECT_ID".into())
        })
    }

    /// `--session` / `MAESTRO_SESSION_ID`.
    pub fn session(&self) -> Result<&str> {
        self.session.as_deref().ok_or_else(|| {
            CtlError::Usage("no session: pass --session ID or set MAESTRO_SESSION_ID".into())
        })
    }

    pub fn session_opt(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

/// The bearer token of a stored credential; a Supabase session about to expire is refreshed
/// and saved first.
async fn fresh_token(store: &CredentialStore, cred: Credential) -> Result<String> {
    match cred.kind {
        CredentialKind::Token { token } => Ok(token),
        CredentialKind::Supabase {
            supabase_url,
            anon_key,
            access_token,
            refresh_token,
            expires_at,
            user_id,
            email,
        } => {
            if expires_at - supabase::now_secs() > REFRESH_MARGIN_SECS {
                return Ok(access_token);
            }
            tracing::debug!("refreshing the Supabase session");
            let http = reqwest::Client::new();
            let s = supabase::refresh(&http, &supabase_url, &anon_key, &refresh_token)
                .await
                .map_err(|e| {
                    CtlError::Auth(format!(
                        "{e}; the stored session has expired: run `maestroctl auth login` again"
                    ))
                })?;
            store.save(&Credential {
                server: cred.server,
                kind: CredentialKind::Supabase {
                    supabase_url,
                    anon_key,
                    access_token: s.access_token.clone(),
                    refresh_token: s.refresh_token,
                    expires_at: s.expires_at,
                    user_id: s.user_id.or(user_id),
                    email: s.email.or(email),
                },
            })?;
            Ok(s.access_token)
        }
    }
}

/// `DATA_DIR/server-url` (default `~/.maestro/data`), which the server writes at start-up.
fn server_url_file(env: &Env, home: &Path) -> Option<String> {
    let dir = env
        .data_dir
        .clone()
        .unwrap_or_else(|| home.join(".maestro").join("data"));
    let text = std::fs::read_to_string(dir.join("server-url")).ok()?;
    let url = text.trim();
    (!url.is_empty()).then(|| url.to_string())
}

/// The URL without trailing slashes, so stored and given URLs compare equal.
pub fn normalise(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}
