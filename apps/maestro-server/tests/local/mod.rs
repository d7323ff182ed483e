//! The real `maestro-server` binary on its embedded defaults (FileSystem storage under a temp
//! dir, in-memory events, no token), as the drain and log tests start it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `maestro-server` on `port` with its files under `dir`; the caller adds settings.
pub fn command(port: u16, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_maestro-server"));
    c.env("PORT", port.to_string())
        .env("DATA_DIR", dir.join("data"))
        .env("SESSION_DIR", dir.join("sessions"))
        .env("REDIS_ENABLED", "false")
        .env("SUPABASE_ENABLED", "false")
        .env("LOG_LEVEL", "error")
        .env_remove("RUST_LOG")
        .env_remove("MAESTRO_API_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// Waits until `base` answers `/health` (20 s at most).
pub async fn wait_up(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `ok` every 100 ms until it holds (`true`) or `within` passes (`false`).
pub async fn wait_for(mut ok: impl AsyncFnMut() -> bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
