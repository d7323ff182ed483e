//! # maestro-redis
//!
//! Redis adapters of five ports of [`maestro_domain::ports`], for several server processes
//! sharing one Redis (fred 10, classic pub/sub, Lua, streams). Every adapter passes the
//! `maestro-testkit` contract suites against a real Redis (see `tests/`).
//!
//! | Port | Adapter | Redis |
//! |---|---|---|
//! | [`EventBus`] | [`RedisEventBus`] | local broadcast + `PUBLISH`/`PSUBSCRIBE` `<p>events:<name>` |
//! | [`Presence`] | [`RedisPresence`] | `SET <p>presence:<id> PX`, index sorted set, `expired` keyspace events, sweeps |
//! | [`Lock`] | [`RedisLock`] | `SET <p>lock:<resource> NX PX`, Lua compare-and-act |
//! | [`MailRepo`] | [`RedisMailRepo`] | hash per mail, sorted sets, inbox/broadcast streams, `XREAD BLOCK` |
//! | [`EventLog`] | [`RedisEventLog`] | a stream per project `<p>eventlog:<id>`, Lua append/read with trimming |
//! | [`IdempotencyStore`] | [`RedisIdempotency`] | `<p>idem:<key>`, Lua check-and-set claim, `SET PX` response |
//!
//! [`RedisBackend::connect`] builds the connections once and hands out the five adapters.
//! Connections: one shared command connection (reconnects forever), one subscriber for the
//! bus and one for presence (each re-subscribes by itself after every reconnect), and one
//! pooled connection per concurrent mail wait. Key names: [`Keys`].
//!
//! Errors are [`RedisError`]; at the port boundary they become
//! [`DomainError::Unavailable`](maestro_domain::DomainError::Unavailable) (Redis down or
//! failing) or `Internal` (a record that does not decode).
//!
//! Behaviour while Redis is down: the bus keeps delivering locally (and counts what it could
//! not publish), every other call fails with `Unavailable` after at most `command_timeout`;
//! everything resumes by itself when Redis is back.

mod bus;
mod conn;
pub mod diagnose;
mod error;
mod event_log;
mod idempotency;
mod keys;
mod lock;
mod mail;
mod presence;

use std::sync::Arc;
use std::time::Duration;

use fred::prelude::*;
use maestro_domain::ports::{
    EventBus, EventLog, IdempotencyStore, Lock, MailRepo, Presence, Retention,
};

pub use bus::{BusStats, RedisEventBus};
pub use conn::redact;
pub use error::{RedisError, Result};
pub use event_log::RedisEventLog;
pub use idempotency::RedisIdempotency;
pub use keys::Keys;
pub use lock::RedisLock;
pub use mail::RedisMailRepo;
pub use presence::RedisPresence;

use crate::conn::{Owned, Role};

/// Default key prefix (`REDIS_KEY_PREFIX`).
pub const DEFAULT_KEY_PREFIX: &str = "maestro:";

/// Settings of [`RedisBackend::connect_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Prepended to every key and channel (default `maestro:`).
    pub key_prefix: String,
    /// Longest a command may take, reconnection wait included (default 3 s).
    pub command_timeout: Duration,
    /// Longest a TCP connect may take (default 5 s).
    pub connect_timeout: Duration,
    /// Reconnect backoff: first delay, doubled up to `reconnect_max` (defaults 100 ms, 1 s).
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// Events a local bus subscriber may fall behind before it lags (default 1024).
    pub bus_capacity: usize,
    /// How often presence sweeps for lapses it was not notified of (default 1 s).
    pub presence_sweep_interval: Duration,
    /// Most concurrent mail waits holding their own `XREAD BLOCK` connection (default 512);
    /// further waits poll every 250 ms.
    pub mail_max_blocking: usize,
    /// How much of each project's event log is kept (default 10,000 events, 24 h).
    pub event_log: Retention,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>, key_prefix: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: key_prefix.into(),
            command_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(1),
            bus_capacity: 1024,
            presence_sweep_interval: Duration::from_secs(1),
            mail_max_blocking: 512,
            event_log: Retention::default(),
        }
    }
}

/// The Redis adapters of one server process, sharing their connections.
///
/// Cloning the `Arc`s handed out is cheap; the connections close when the backend and every
/// adapter are dropped. Needs a tokio runtime (adapters run background tasks).
pub struct RedisBackend {
    config: RedisConfig,
    commands: Arc<Owned<Client>>,
    bus: Arc<RedisEventBus>,
    presence: Arc<RedisPresence>,
    lock: Arc<RedisLock>,
    mail: Arc<RedisMailRepo>,
    event_log: Arc<RedisEventLog>,
    reconnects: Arc<std::sync::atomic::AtomicU64>,
    _tasks: conn::Tasks,
}

impl RedisBackend {
    /// Connects with default settings. Fails if Redis cannot be reached now (later outages are
    /// survived).
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self> {
        Self::connect_with(RedisConfig::new(url, key_prefix)).await
    }

    pub async fn connect_with(config: RedisConfig) -> Result<Self> {
        let commands = Arc::new(Owned(conn::connect(&config, Role::Commands).await?));
        // Subscribed after the first connection, so only later ones are counted.
        let reconnects = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = tokio::spawn(count_reconnects(
            commands.reconnect_rx(),
            Arc::clone(&reconnects),
        ));
        let origin = format!("{}-{}", std::process::id(), error::random_hex()?);
        let bus = Arc::new(RedisEventBus::start(&config, Arc::clone(&commands), origin).await?);
        let presence = Arc::new(RedisPresence::start(&config, Arc::clone(&commands)).await?);
        let lock = Arc::new(RedisLock::new(
            Keys::new(config.key_prefix.clone()),
            Arc::clone(&commands),
        ));
        let mail = Arc::new(RedisMailRepo::new(&config, Arc::clone(&commands)));
        let event_log = Arc::new(RedisEventLog::new(
            Keys::new(config.key_prefix.clone()),
            Arc::clone(&commands),
            config.event_log,
        ));
        tracing::info!(
            url = %conn::redact(&config.url),
            prefix = %config.key_prefix,
            "connected to Redis"
        );
        Ok(Self {
            config,
            commands,
            bus,
            presence,
            lock,
            mail,
            event_log,
            reconnects,
            _tasks: conn::Tasks(vec![counter]),
        })
    }

    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    pub fn presence(&self) -> Arc<dyn Presence> {
        self.presence.clone()
    }

    pub fn lock(&self) -> Arc<dyn Lock> {
        self.lock.clone()
    }

    pub fn mail(&self) -> Arc<dyn MailRepo> {
        self.mail.clone()
    }

    pub fn event_log(&self) -> Arc<dyn EventLog> {
        self.event_log.clone()
    }

    /// Idempotency keys on this Redis (shared by every instance using it).
    pub fn idempotency(&self) -> Arc<dyn IdempotencyStore> {
        Arc::new(RedisIdempotency::new(
            Keys::new(self.config.key_prefix.clone()),
            Arc::clone(&self.commands),
        ))
    }

    /// The concrete adapters (for their extra methods: bus stats, presence reconcile, stamped
    /// mail creation).
    pub fn redis_bus(&self) -> &Arc<RedisEventBus> {
        &self.bus
    }

    pub fn redis_presence(&self) -> &Arc<RedisPresence> {
        &self.presence
    }

    pub fn redis_mail(&self) -> &Arc<RedisMailRepo> {
        &self.mail
    }

    /// How many times the command connection reconnected after its first connection.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the command connection is up now.
    pub fn is_connected(&self) -> bool {
        self.commands.is_connected()
    }

    /// One `PING` round trip (health checks).
    pub async fn ping(&self) -> Result<Duration> {
        let started = std::time::Instant::now();
        let _: String = self
            .commands
            .ping(None)
            .await
            .map_err(RedisError::command("PING"))?;
        Ok(started.elapsed())
    }
}

/// Counts the command connection's reconnections until it is closed.
async fn count_reconnects(
    mut rx: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
    count: Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match rx.recv().await {
            Ok(_) => {
                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(RecvError::Lagged(n)) => {
                count.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            }
            Err(RecvError::Closed) => return,
        }
    }
}
