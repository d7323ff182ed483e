//! A private `redis-server` per test (never the shared one on 6379), and the processes a test
//! starts, killed when it ends.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `redis-server` can run here: `false` (after a loud notice) when it is missing and
/// `CI` is not set; a panic when it is missing under `CI`.
pub fn available() -> bool {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    maestro_testkit::services::missing(
        "redis-server is not installed",
        "Install it (Debian: apt-get install redis-server).",
    );
    false
}

/// `redis-server` on `port`, without persistence, once it accepts connections.
pub fn start(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

/// Kills (and reaps) its processes when dropped.
pub struct Killed(pub Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // A child with a stdin pipe (the `sh` wrapper of postrust) ends what it started
            // when the pipe closes; SIGKILL would leave that grandchild running.
            if c.stdin.take().is_some() {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while matches!(c.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
