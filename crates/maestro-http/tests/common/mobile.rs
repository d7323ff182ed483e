//! The official JavaScript Socket.IO client (`tests/socketio/mobile-client.mjs`) as one
//! socket, driven line by line.

use serde_json::{Value, json};

use super::TestServer;

/// The official JavaScript client as one /mobile socket, driven line by line.
pub struct MobileClient {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stdin: tokio::process::ChildStdin,
}

impl MobileClient {
    /// `None` (with a loud message, or a failure under `CI`) when node or the client package
    /// is missing.
    pub async fn connect(srv: &TestServer, token: &str, project: &str) -> Option<Self> {
        Self::connect_to(srv, "/mobile", token, project).await
    }

    /// A `/mobile` socket that resumes after `offset` (handshake `auth.offset`).
    pub async fn resume(
        srv: &TestServer,
        token: &str,
        project: &str,
        offset: &str,
    ) -> Option<Self> {
        Self::spawn(srv, "/mobile", token, project, Some(offset)).await
    }

    pub async fn connect_to(
        srv: &TestServer,
        namespace: &str,
        token: &str,
        project: &str,
    ) -> Option<Self> {
        Self::spawn(srv, namespace, token, project, None).await
    }

    async fn spawn(
        srv: &TestServer,
        namespace: &str,
        token: &str,
        project: &str,
        offset: Option<&str>,
    ) -> Option<Self> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/socketio");
        if !dir.join("node_modules/socket.io-client").is_dir()
            || std::process::Command::new("node")
                .arg("--version")
                .output()
                .is_err()
        {
            maestro_testkit::services::missing(
                "node or the tests/socketio packages are missing",
                "Install Node.js and run `npm ci --prefix tests/socketio`.",
            );
            return None;
        }
        let mut child = tokio::process::Command::new("node")
            .arg("mobile-client.mjs")
            .arg(format!("http://{}", srv.addr))
            .arg(token)
            .arg(project)
            .arg(namespace)
            .args(offset)
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        use tokio::io::AsyncBufReadExt;
        let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let stdin = child.stdin.take().unwrap();
        Some(Self {
            child,
            lines,
            stdin,
        })
    }

    /// The next line whose `kind` is one of `kinds` (others are skipped).
    pub async fn next(&mut self, kinds: &[&str]) -> Value {
        let wait = std::time::Duration::from_secs(10);
        loop {
            let line = tokio::time::timeout(wait, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {kinds:?} from the client within {wait:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("the client exited before {kinds:?}"));
            let v: Value = serde_json::from_str(&line).unwrap();
            if kinds.contains(&v["kind"].as_str().unwrap_or_default()) {
                return v;
            }
        }
    }

    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            let v = self.next(&["event", "disconnect"]).await;
            assert_eq!(
                v["kind"], "event",
                "disconnected while waiting for {name}: {v}"
            );
            if v["name"] == name {
                return v;
            }
        }
    }

    pub async fn emit(&mut self, event: &str, data: Value) -> Value {
        use tokio::io::AsyncWriteExt;
        let line = format!("{}\n", json!({"id": 1, "emit": event, "data": data}));
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.next(&["ack"]).await
    }
}

impl Drop for MobileClient {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl MobileClient {
    /// Every line the client prints until it has been quiet for `quiet` (or it exits).
    pub async fn drain(&mut self, quiet: std::time::Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(Ok(Some(line))) = tokio::time::timeout(quiet, self.lines.next_line()).await {
            out.push(serde_json::from_str(&line).unwrap());
        }
        out
    }
}
