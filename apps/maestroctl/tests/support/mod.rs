//! A real `maestro-server` in this process (FileSystem storage, token mode) on a free port,
//! and `maestroctl` run as a child process with a private `HOME`.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use maestro_client::Client;
use maestro_client::requests::{NewSession, NewTask, ProjectInput};
use maestro_domain::model::{Project, Session, Task};
use maestro_server::config::{Args, Config};
use serde_json::Value;

#[path = "../../../maestro-server/tests/tcp_proxy/mod.rs"]
mod tcp_proxy;
#[allow(unused_imports)]
pub use tcp_proxy::Proxy;

pub const TOKEN: &str = "ctl-test-token-7c1e9a3f5b2d8e4c6a0f1b3d5e7a9c2e";
pub const SESSION_KEY: &str = "ctl-test-session-key-0a9b8c7d6e5f4a3b2c1d0e9f";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

/// Starts the server with `extra` flags after the defaults (later flags win).
pub async fn server(extra: &[String]) -> Server {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let mut args: Vec<String> = [
        "maestro-server",
        "--port",
        &port.to_string(),
        "--host",
        "127.0.0.1",
        "--data-dir",
        &p("data"),
        "--session-dir",
        &p("sessions"),
        "--skills-dir",
        &p("skills"),
        "--api-token",
        TOKEN,
        "--session-key",
        SESSION_KEY,
        "--redis-enabled",
        "false",
        "--log-level",
        "error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !extra.iter().any(|a| a == "--supabase-enabled") {
        args.extend(["--supabase-enabled".into(), "false".into()]);
    }
    args.extend(extra.iter().cloned());
    let cfg = Config::from_args(Args::try_parse_from(&args).unwrap(), Some(dir.path())).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        if let Err(e) = maestro_server::run(cfg, BTreeMap::new(), async {
            let _ = rx.await;
        })
        .await
        {
            panic!("the server stopped: {e}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let probe = Client::builder(&base).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while probe.health().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        base,
        dir,
        stop: Some(tx),
        task,
    }
}

impl Server {
    /// A client with the server's API token.
    pub fn admin(&self) -> Client {
        Client::builder(&self.base).token(TOKEN).build().unwrap()
    }

    /// A project with one task and one session working on it.
    pub async fn fixture(&self, name: &str) -> (Project, Task, Session) {
        let c = self.admin();
        let p = c
            .create_project(&ProjectInput {
                name: Some(name.into()),
                working_dir: Some("/tmp".into()),
                description: None,
            })
            .await
            .unwrap();
        let t = c
            .create_task(&NewTask::new(&p.id, format!("{name} task")))
            .await
            .unwrap();
        let s = self
            .session(&p.id, &[t.id.as_str()], &format!("{name} agent"))
            .await;
        (p, t, s)
    }

    /// A session of `project` working on `tasks`.
    pub async fn session(&self, project: &str, tasks: &[&str], name: &str) -> Session {
        self.admin()
            .create_session(&NewSession {
                project_id: project.to_string(),
                task_ids: tasks.iter().map(|t| t.to_string()).collect(),
                name: Some(name.to_string()),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    pub fn session_token(&self, session: &str, project: &str) -> String {
        maestro_http::session_token::SessionTokens::new(SESSION_KEY)
            .mint(session, project)
            .unwrap()
    }
}

/// A private home for `maestroctl` (its `~/.maestro/auth.json`).
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn auth_file(&self) -> PathBuf {
        self.dir.path().join(".maestro/auth.json")
    }

    /// `maestroctl` with this home, against `server`, with none of the caller's MAESTRO_*
    /// variables.
    pub fn cmd(&self, server: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_maestroctl"));
        c.env("HOME", self.path())
            .env("MAESTRO_SERVER_URL", server)
            .env_remove("MAESTRO_SESSION_TOKEN")
            .env_remove("MAESTRO_PROJECT_ID")
            .env_remove("MAESTRO_SESSION_ID")
            .env_remove("DATA_DIR")
            .stdin(Stdio::null());
        c
    }

    /// Runs `maestroctl args…` to the end.
    pub fn run(&self, server: &str, args: &[&str]) -> Output {
        self.cmd(server).args(args).output().unwrap()
    }

    /// Runs `maestroctl args…` with `input` on standard input.
    pub fn run_with_input(&self, server: &str, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(server)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

/// The standard output of a successful run, parsed as JSON.
pub fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "maestroctl failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits up to `within` for `check` to hold.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
