//! Shared test helpers: where Redis is, whether tests may skip, unique key prefixes, private
//! `redis-server`s.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use maestro_redis::{RedisBackend, RedisConfig};

/// Prefix of every key the tests write; the segment after it is the run's epoch seconds.
const TEST_PREFIX_ROOT: &str = "mtest:";

/// The shared Redis of the tests: `MAESTRO_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn url() -> String {
    std::env::var("MAESTRO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The one place that decides what happens when Redis is unreachable: with `CI` set the
/// test fails; locally it is skipped with a loud message.
pub fn require(what: &str, problem: &str) -> bool {
    maestro_testkit::services::missing(
        &format!("{what} is unavailable ({problem})"),
        "Start Redis on 127.0.0.1:6379.",
    );
    false
}

/// `Some(url)` when the shared Redis answers; see [`require`] otherwise.
pub fn redis_url() -> Option<String> {
    let url = url();
    let hostport = url
        .trim_start_matches("redis://")
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let reachable = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok());
    if reachable {
        return Some(url);
    }
    // Installed but not running (and no URL chosen): a private one for this test binary.
    if std::env::var_os("MAESTRO_TEST_REDIS_URL").is_none()
        && let Some(private) = private_shared()
    {
        return Some(private);
    }
    require(
        &format!("Redis at {url}"),
        "connection refused or timed out, and no redis-server to start",
    );
    None
}

/// A `redis-server` of this test binary on a free port, started once, when the machine has
/// one installed but none is listening. It runs under `sh`, which stops it when this process
/// exits (its stdin pipe, kept in a static, then closes): nothing is left running.
fn private_shared() -> Option<String> {
    use std::sync::{Mutex, OnceLock};
    static PRIVATE: OnceLock<Option<(String, Mutex<std::process::Child>)>> = OnceLock::new();
    PRIVATE
        .get_or_init(|| {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let child = std::process::Command::new("sh")
                .arg("-c")
                .arg(
                    "redis-server --port \"$PORT\" --bind 127.0.0.1 --save '' --appendonly no \
                     >/dev/null 2>&1 & p=$!; read _ignored; kill $p 2>/dev/null; wait $p",
                )
                .env("PORT", port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            for _ in 0..50 {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                    let _ = std::io::Write::write_all(
                        &mut std::io::stderr(),
                        format!(
                            "\nnote: no Redis on 127.0.0.1:6379; these tests use a private \
                             redis-server on port {port}\n"
                        )
                        .as_bytes(),
                    );
                    return Some((format!("redis://127.0.0.1:{port}"), Mutex::new(child)));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            None
        })
        .as_ref()
        .map(|(url, _)| url.clone())
}

fn epoch_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh key prefix `mtest:<epoch s>:<random>:`.
pub fn unique_prefix() -> String {
    let rand = maestro_testkit::fixtures::unique_id("p");
    format!("{TEST_PREFIX_ROOT}{}:{rand}:", epoch_s())
}

/// Test settings: fast sweeps, small bus buffers when asked.
pub fn config(url: &str, prefix: &str) -> RedisConfig {
    let mut c = RedisConfig::new(url, prefix);
    c.presence_sweep_interval = Duration::from_millis(250);
    c
}

/// A backend on the shared Redis under a fresh prefix (and, once per test binary, removal of
/// test keys older than an hour).
pub async fn backend(url: &str) -> RedisBackend {
    backend_with(config(url, &unique_prefix())).await
}

pub async fn backend_with(config: RedisConfig) -> RedisBackend {
    static CLEANED: AtomicBool = AtomicBool::new(false);
    let backend = RedisBackend::connect_with(config.clone()).await.unwrap();
    if !CLEANED.swap(true, Ordering::SeqCst) {
        clean_old_keys(&config.url).await;
    }
    backend
}

async fn clean_old_keys(url: &str) {
    use fred::prelude::*;
    let Ok(client) = Builder::from_config(Config::from_url(url).unwrap()).build() else {
        return;
    };
    if client.init().await.is_err() {
        return;
    }
    let cutoff = epoch_s().saturating_sub(3600);
    let mut keys = client.scan_buffered(format!("{TEST_PREFIX_ROOT}*"), Some(1000), None);
    let mut old = Vec::new();
    while let Some(Ok(key)) = keys.next().await {
        let Some(k) = key.as_str() else { continue };
        let epoch = k
            .split(':')
            .nth(1)
            .and_then(|e| e.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if epoch < cutoff {
            old.push(k.to_owned());
        }
    }
    for chunk in old.chunks(500) {
        let _: Result<i64, _> = client.del(chunk.to_vec()).await;
    }
    let _ = client.quit().await;
}

/// A `redis-server` of the test's own on a free loopback port (never 6379), killed when
/// dropped. `start` again on the same port after `kill` simulates a restart (no persistence).
pub struct PrivateRedis {
    pub port: u16,
    extra: Vec<String>,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    /// `None` (skipped, or failed under CI) when `redis-server` cannot be started.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// Same, with extra `redis-server` arguments.
    pub async fn start_with(extra: &[&str]) -> Option<Self> {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        assert_ne!(port, 6379);
        let mut redis = Self {
            port,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
        };
        if let Err(e) = redis.restart().await {
            require("a private redis-server", &e);
            return None;
        }
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts `redis-server` on `self.port` and waits until it accepts connections.
    pub async fn restart(&mut self) -> Result<(), String> {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::time::Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!(
            "redis-server did not listen on {} within 5 s",
            self.port
        ))
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }
}
