//! Runs `maestro manifest generate` as a child process (API.md §6.1 step 7, STORAGE.md §4).
//!
//! Argument vector, no shell; `DATA_DIR`, `SESSION_DIR`, `MAESTRO_SERVER_URL` set explicitly
//! (DEFECTS C11); killed after a timeout; the output directory is removed on failure. The
//! child gets an explicit environment: only the allow-listed variables of [`child_env`]
//! (never `MAESTRO_API_TOKEN`, provider keys or anything else of the server's).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use maestro_domain::error::SpawnErrorCode;
use maestro_domain::model::AgentTool;
use maestro_domain::ports::{Manifest, ManifestGenerator, ManifestRequest};
use maestro_domain::{DomainError, Result};
use tokio::io::AsyncReadExt;

/// The CLI runner.
#[derive(Debug, Clone)]
pub struct CliManifestGenerator {
    /// `MAESTRO_CLI_PATH`, else `maestro` (looked up on `PATH`).
    pub program: PathBuf,
    pub session_dir: PathBuf,
    pub data_dir: PathBuf,
    pub server_url: String,
    pub timeout: Duration,
    /// The environment the child starts with (see [`child_env`]), before the three
    /// variables above are set.
    pub env: Vec<(String, String)>,
}

/// Where `program` runs from: itself when it names a path (`./bin/maestro.js`,
/// `/usr/bin/maestro`), else the first executable of that name in the directories of `path`
/// (a `PATH` value). `None` when there is none.
pub fn find_program(program: &std::path::Path, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return Some(program.to_path_buf()).filter(|p| is_executable(p));
    }
    std::env::split_paths(path?)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &std::path::Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Variables of the server's environment a manifest child may see: what a Node.js program
/// needs to find itself, its home and its locale. Nothing else passes.
pub const CHILD_ENV_ALLOW: [&str; 16] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "SYSTEMROOT",
    "USERPROFILE",
    "APPDATA",
];

/// The allow-listed part of `env` (plus `LC_*` locale variables).
pub fn child_env<'a>(
    env: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<(String, String)> {
    env.into_iter()
        .filter(|(k, _)| CHILD_ENV_ALLOW.contains(&k.as_str()) || k.starts_with("LC_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn failed(message: impl Into<String>) -> DomainError {
    DomainError::spawn(SpawnErrorCode::ManifestGenerationFailed, message)
}

impl CliManifestGenerator {
    /// The argument vector for a request (without the program).
    pub fn args(request: &ManifestRequest, output: &str) -> Vec<String> {
        let mut args = vec![
            "manifest".to_string(),
            "generate".into(),
            "--mode".into(),
            request.mode.as_str().into(),
            "--project-id".into(),
            request.project_id.clone(),
            "--task-ids".into(),
            request.task_ids.join(","),
            "--skills".into(),
            request.skills.join(","),
            "--output".into(),
            output.to_string(),
        ];
        if let Some(model) = &request.model {
            args.extend(["--model".into(), model.clone()]);
        }
        if request.agent_tool != AgentTool::ClaudeCode {
            args.extend(["--agent-tool".into(), request.agent_tool.as_str().into()]);
        }
        if !request.reference_task_ids.is_empty() {
            args.extend([
                "--reference-task-ids".into(),
                request.reference_task_ids.join(","),
            ]);
        }
        if !request.team_member_ids.is_empty() {
            args.extend([
                "--team-member-ids".into(),
                request.team_member_ids.join(","),
            ]);
        }
        if let Some(id) = &request.team_member_id {
            args.extend(["--team-member-id".into(), id.clone()]);
        }
        args
    }

    async fn run(&self, request: &ManifestRequest, dir: &std::path::Path) -> Result<Manifest> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        let output = dir.join("manifest.json");
        let output = std::path::absolute(&output).unwrap_or(output);
        let out_str = output.to_string_lossy().into_owned();
        let mut child = tokio::process::Command::new(&self.program)
            .args(Self::args(request, &out_str))
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("DATA_DIR", &self.data_dir)
            .env("SESSION_DIR", &self.session_dir)
            .env("MAESTRO_SERVER_URL", &self.server_url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    failed(format!(
                        "maestro CLI not found at '{}' (set MAESTRO_CLI_PATH)",
                        self.program.display()
                    ))
                } else {
                    failed(format!("cannot start '{}': {e}", self.program.display()))
                }
            })?;
        let mut stderr = child.stderr.take();
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(status) => status.map_err(|e| failed(format!("waiting for the CLI: {e}")))?,
            Err(_) => {
                let _ = child.kill().await;
                return Err(failed(format!(
                    "manifest generation timed out after {} s and was killed",
                    self.timeout.as_secs()
                )));
            }
        };
        let mut err_text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(16 * 1024).read_to_string(&mut err_text).await;
        }
        if !status.success() {
            let lower = err_text.to_ascii_lowercase();
            let hint = if lower.contains("not found") || lower.contains("enoent") {
                " (command not found?)"
            } else {
                ""
            };
            return Err(failed(format!(
                "manifest generation failed with {status}{hint}: {}",
                err_text.trim()
            )));
        }
        let text = tokio::fs::read_to_string(&output)
            .await
            .map_err(|e| failed(format!("manifest not written to {out_str}: {e}")))?;
        let content = serde_json::from_str(&text)
            .map_err(|e| failed(format!("manifest at {out_str} is not JSON: {e}")))?;
        Ok(Manifest {
            path: out_str,
            content,
        })
    }
}

#[async_trait]
impl ManifestGenerator for CliManifestGenerator {
    fn unavailable(&self) -> Option<String> {
        // The child's own PATH (its environment is allow-listed from the server's).
        let path = self
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| std::ffi::OsString::from(v));
        match find_program(&self.program, path.as_deref()) {
            Some(_) => None,
            None => Some(format!(
                "The Maestro CLI ('{}') is not installed on the server, and spawning an agent \
                 needs it. Install maestro-cli there, or set MAESTRO_CLI_PATH.",
                self.program.display()
            )),
        }
    }

    async fn generate(&self, request: &ManifestRequest) -> Result<Manifest> {
        maestro_domain::validate::safe_id("sessionId", &request.session_id)?;
        let dir = self.session_dir.join(&request.session_id);
        let result = self.run(request, &dir).await;
        if result.is_err() {
            let _ = tokio::fs::remove_dir_all(&dir).await;
        }
        result
    }

    async fn discard(&self, session_id: &str) -> Result<()> {
        maestro_domain::validate::safe_id("sessionId", session_id)?;
        match tokio::fs::remove_dir_all(self.session_dir.join(session_id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DomainError::Unavailable(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn spawn_is_unavailable_only_without_the_program() {
        let generator = |program: &str, path: &str| CliManifestGenerator {
            program: PathBuf::from(program),
            session_dir: PathBuf::from("/tmp"),
            data_dir: PathBuf::from("/tmp"),
            server_url: "http://127.0.0.1:3000".into(),
            timeout: Duration::from_secs(1),
            env: vec![("PATH".into(), path.into())],
        };
        assert_eq!(generator("sh", "/usr/bin:/bin").unavailable(), None);
        assert_eq!(generator("/bin/sh", "").unavailable(), None);
        let missing = generator("maestro-not-installed", "/usr/bin:/bin").unavailable();
        assert!(
            missing.as_deref().is_some_and(
                |m| m.contains("'maestro-not-installed'") && m.contains("MAESTRO_CLI_PATH")
            ),
            "{missing:?}"
        );
        assert!(
            generator("/nonexistent/maestro", "/usr/bin")
                .unavailable()
                .is_some()
        );
        // A directory or a file that cannot run is not the program.
        assert!(generator("/tmp", "").unavailable().is_some());
    }

    #[test]
    fn the_child_environment_is_allow_listed() {
        let env: BTreeMap<String, String> = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("LC_ALL", "C.UTF-8"),
            ("MAESTRO_API_TOKEN", "secret"),
            ("ANTHROPIC_API_KEY", "sk-ant"),
            ("SUPABASE_SERVICE_ROLE_KEY", "srk"),
            ("AWS_SECRET_ACCESS_KEY", "aws"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let keys: Vec<String> = child_env(&env).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["HOME", "LC_ALL", "PATH"]);
    }
}
