//! [`RedisEventBus`]: local delivery through a tokio broadcast, other processes through Redis
//! pub/sub.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use maestro_domain::DomainEvent;
use maestro_domain::ports::{BoxStream, BusEvent, BusMessage, EventBus, EventId};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;

use crate::RedisConfig;
use crate::conn::{self, Owned, Tasks};
use crate::error::{RedisError, Result};
use crate::keys::Keys;

/// Events waiting to be published to Redis; past this, new ones are dropped (and counted).
const OUTBOX_CAPACITY: usize = 65_536;
/// Most events sent to Redis in one pipeline.
const MAX_BATCH: usize = 256;

/// What the local broadcast carries.
#[derive(Debug, Clone)]
enum Item {
    Event(Arc<BusEvent>),
    /// Events of other processes lost before they reached this process (fred's buffer
    /// overflowed).
    Lost(u64),
}

/// Counters of a [`RedisEventBus`] (monotonic since it was created).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Events this process sent to Redis successfully.
    pub published: u64,
    /// Events of this process that did not reach Redis (Redis down, command failed, outbox
    /// full). Local subscribers still got them.
    pub publish_failures: u64,
    /// Events of other processes delivered to local subscribers.
    pub received: u64,
    /// Messages on the event channels that did not decode (skipped).
    pub undecodable: u64,
    /// Messages of other processes lost inside this process before delivery (reported to
    /// subscribers as `Lagged`).
    pub lost: u64,
    /// Times the subscriber connection (re)connected and re-subscribed.
    pub subscriptions: u64,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    publish_failures: AtomicU64,
    received: AtomicU64,
    undecodable: AtomicU64,
    lost: AtomicU64,
    subscriptions: AtomicU64,
    /// Whether the last attempt to reach Redis failed (logs once per outage).
    failing: AtomicBool,
}

impl Counters {
    fn failed(&self, n: u64, why: &dyn std::fmt::Display) {
        self.publish_failures.fetch_add(n, Ordering::Relaxed);
        if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %why,
                "Redis event publishing is failing; events reach only this process's \
                 subscribers until Redis answers again (counted in publish_failures)"
            );
        }
    }

    fn succeeded(&self, n: u64) {
        self.published.fetch_add(n, Ordering::Relaxed);
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!(
                failures = self.publish_failures.load(Ordering::Relaxed),
                "Redis event publishing works again"
            );
        }
    }
}

struct Shared {
    keys: Keys,
    /// This bus's origin id: messages carrying it are this process's own and are skipped.
    origin: String,
    local: broadcast::Sender<Item>,
    counters: Counters,
}

/// The JSON published on `<prefix>events:<name>`: the real-time envelope's `event`, `data`
/// and `timestamp` plus the publishing process's `origin` and the event's log `id` (if any).
#[derive(Serialize)]
struct WireOut<'a> {
    origin: &'a str,
    timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a EventId>,
    #[serde(flatten)]
    event: &'a DomainEvent,
}

/// An [`EventBus`] shared by every server process on one Redis.
///
/// - **Local first**: `publish` puts the event in the local broadcast (every subscriber of
///   this process has it queued when `publish` returns, as with `MemoryEventBus`), then
///   queues it for Redis: `PUBLISH <prefix>events:<name> {origin, event, data, timestamp}`.
///   A background task sends the queue in order (pipelined in bursts), so Redis latency never
///   delays the caller.
/// - **Remote**: a dedicated subscriber connection `PSUBSCRIBE`s `<prefix>events:*` and
///   delivers events of other processes; messages with this bus's own origin id are skipped,
///   so nobody gets an event twice. Each subscriber sees the events of one publisher in
///   publish order.
/// - **Redis down**: `publish` still returns `Ok` (the event reached this process's
///   subscribers); sending to Redis fails fast while disconnected, each lost event is
///   counted in [`BusStats::publish_failures`] and the outage is logged once (warn) with its
///   recovery (info). Events are not replayed after the outage: pub/sub is fire-and-forget
///   (what must not be lost, mail, goes through streams). This differs on purpose from the
///   port's "failure is reported by publish": a Redis outage must not fail every write of
///   the REST API.
/// - **Reconnect**: the subscriber reconnects forever (exponential backoff) and
///   re-`PSUBSCRIBE`s by itself on every reconnect (classic pub/sub only; fred's own
///   re-subscription was seen to come back incomplete for sharded channels). Events that
///   other processes published while this one was disconnected are lost.
/// - **Slow subscribers**: bounded buffers of `capacity` events; a subscriber that falls
///   behind gets [`BusMessage::Lagged`] (also when events of other processes were dropped
///   before delivery).
pub struct RedisEventBus {
    shared: Arc<Shared>,
    outbox: mpsc::Sender<(String, String)>,
    _tasks: Tasks,
}

impl RedisEventBus {
    /// Connects a subscriber, subscribes, and starts the publishing and listening tasks.
    /// `commands` publishes.
    pub(crate) async fn start(
        config: &RedisConfig,
        commands: Arc<Owned<Client>>,
        origin: String,
    ) -> Result<Self> {
        let capacity = config.bus_capacity.clamp(1, 1 << 24);
        let (local, _) = broadcast::channel(capacity);
        let shared = Arc::new(Shared {
            keys: Keys::new(config.key_prefix.clone()),
            origin,
            local,
            counters: Counters::default(),
        });
        let subscriber = conn::subscriber(config)?;
        // Taken before connecting so that no (re)connection and no message is missed.
        let reconnects = subscriber.reconnect_rx();
        let messages = subscriber.message_rx();
        subscriber
            .init()
            .await
            .map_err(RedisError::command("event subscriber connect"))?;
        let pattern = shared.keys.event_pattern();
        subscriber
            .psubscribe(pattern.clone())
            .await
            .map_err(RedisError::command("PSUBSCRIBE"))?;
        shared
            .counters
            .subscriptions
            .fetch_add(1, Ordering::Relaxed);
        let (outbox, queued) = mpsc::channel(OUTBOX_CAPACITY);
        let tasks = Tasks(vec![
            tokio::spawn(listen(
                Owned(subscriber),
                Arc::clone(&shared),
                pattern,
                reconnects,
                messages,
            )),
            tokio::spawn(forward(commands, Arc::clone(&shared), queued)),
        ]);
        tracing::debug!(origin = %shared.origin, "Redis event bus started");
        Ok(Self {
            shared,
            outbox,
            _tasks: tasks,
        })
    }

    /// Counters since the bus started.
    pub fn stats(&self) -> BusStats {
        let c = &self.shared.counters;
        BusStats {
            published: c.published.load(Ordering::Relaxed),
            publish_failures: c.publish_failures.load(Ordering::Relaxed),
            received: c.received.load(Ordering::Relaxed),
            undecodable: c.undecodable.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            subscriptions: c.subscriptions.load(Ordering::Relaxed),
        }
    }

    /// This bus's origin id (unique per process).
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// Number of live local subscriptions.
    pub fn subscriber_count(&self) -> usize {
        self.shared.local.receiver_count()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[async_trait]
impl EventBus for RedisEventBus {
    async fn publish_event(&self, event: BusEvent) -> maestro_domain::Result<()> {
        let channel = self.shared.keys.event_channel(event.name());
        let payload = serde_json::to_string(&WireOut {
            origin: &self.shared.origin,
            timestamp: now_ms(),
            id: event.id.as_ref(),
            event: &event.event,
        });
        let _ = self.shared.local.send(Item::Event(Arc::new(event)));
        match payload {
            Ok(payload) => {
                if let Err(e) = self.outbox.try_send((channel, payload)) {
                    let why = match e {
                        mpsc::error::TrySendError::Full(_) => "outbox full",
                        mpsc::error::TrySendError::Closed(_) => "publisher stopped",
                    };
                    self.shared.counters.failed(1, &why);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "event does not serialise; delivered locally only");
                self.shared.counters.failed(1, &e);
            }
        }
        Ok(())
    }

    fn subscribe(&self) -> BoxStream<BusMessage> {
        let receiver = self.shared.local.subscribe();
        Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move {
                match receiver.recv().await {
                    Ok(Item::Event(event)) => Some((BusMessage::Event(event), receiver)),
                    Ok(Item::Lost(n)) => Some((BusMessage::Lagged(n), receiver)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "event bus subscriber lagged");
                        Some((BusMessage::Lagged(missed), receiver))
                    }
                    Err(RecvError::Closed) => None,
                }
            },
        ))
    }
}

/// Sends queued events to Redis, in order; bursts go in one pipeline.
async fn forward(
    commands: Arc<Owned<Client>>,
    shared: Arc<Shared>,
    mut queued: mpsc::Receiver<(String, String)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queued.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let n = batch.len() as u64;
        if !commands.is_connected() {
            shared.counters.failed(n, &"not connected to Redis");
            batch.clear();
            continue;
        }
        let outcome = if batch.len() == 1 {
            let (channel, payload) = batch.swap_remove(0);
            commands
                .publish::<i64, _, _>(channel, payload)
                .await
                .map(drop)
        } else {
            let pipeline = commands.pipeline();
            let mut queued_ok = Ok(());
            for (channel, payload) in batch.drain(..) {
                if let Err(e) = pipeline.publish::<(), _, _>(channel, payload).await {
                    queued_ok = Err(e);
                    break;
                }
            }
            match queued_ok {
                Ok(()) => pipeline.all::<Vec<Value>>().await.map(drop),
                Err(e) => Err(e),
            }
        };
        batch.clear();
        match outcome {
            Ok(()) => shared.counters.succeeded(n),
            Err(e) => shared.counters.failed(n, &e),
        }
    }
}

/// Re-subscribes after every reconnect and delivers the events of other processes.
async fn listen(
    subscriber: Owned<SubscriberClient>,
    shared: Arc<Shared>,
    pattern: String,
    mut reconnects: broadcast::Receiver<Server>,
    mut messages: broadcast::Receiver<fred::types::Message>,
) {
    loop {
        tokio::select! {
            reconnect = reconnects.recv() => match reconnect {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    resubscribe(&subscriber, &shared, &pattern).await;
                }
                Err(RecvError::Closed) => return,
            },
            message = messages.recv() => match message {
                Ok(message) => deliver(&shared, &message),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "Redis event subscriber overflowed; events of other processes lost");
                    shared.counters.lost.fetch_add(n, Ordering::Relaxed);
                    let _ = shared.local.send(Item::Lost(n));
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

/// `PSUBSCRIBE` again, retrying while the connection is up (a failure while it is down is
/// retried by the next reconnect).
async fn resubscribe(subscriber: &SubscriberClient, shared: &Shared, pattern: &str) {
    let mut pause = Duration::from_millis(50);
    loop {
        match subscriber.psubscribe(pattern.to_owned()).await {
            Ok(()) => {
                shared
                    .counters
                    .subscriptions
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(pattern, "Redis event subscriber (re)subscribed");
                return;
            }
            Err(e) if subscriber.is_connected() => {
                tracing::warn!(error = %e, "PSUBSCRIBE failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e) => {
                tracing::warn!(error = %e, "PSUBSCRIBE failed while disconnected; retrying on reconnect");
                return;
            }
        }
    }
}

fn deliver(shared: &Shared, message: &fred::types::Message) {
    let Some(text) = message.value.as_str() else {
        shared.counters.undecodable.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            undecodable(shared, &message.channel, &e);
            return;
        }
    };
    let origin = value
        .get("origin")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if origin == shared.origin {
        return;
    }
    let mut id = None;
    if let Some(object) = value.as_object_mut() {
        object.remove("origin");
        object.remove("timestamp");
        id = object.remove("id");
    }
    // An id that does not parse is dropped (the event still reaches its subscribers).
    let id = id.and_then(|v| serde_json::from_value::<EventId>(v).ok());
    match serde_json::from_value::<DomainEvent>(value) {
        Ok(event) => {
            shared.counters.received.fetch_add(1, Ordering::Relaxed);
            let _ = shared
                .local
                .send(Item::Event(Arc::new(BusEvent { event, id })));
        }
        Err(e) => undecodable(shared, &message.channel, &e),
    }
}

fn undecodable(shared: &Shared, channel: &str, error: &dyn std::fmt::Display) {
    let n = shared.counters.undecodable.fetch_add(1, Ordering::Relaxed);
    // A newer server may publish events this one does not know: say so, without flooding.
    if n < 10 || n.is_power_of_two() {
        tracing::warn!(channel, error = %error, skipped = n + 1, "undecodable event from Redis skipped");
    }
}
