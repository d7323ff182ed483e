//! [`RedisPresence`]: heartbeat keys with a TTL, expiry notifications and reconciliation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::KeyspaceEvent;
use maestro_domain::ports::{BoxStream, Heartbeat, Presence, PresenceEntry};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::RedisConfig;
use crate::conn::{self, Lua, Owned, Tasks, with_now};
use crate::error::{RedisError, Result, random_hex};
use crate::keys::Keys;

/// Longest TTL honoured (a century), so absurd TTLs neither overflow nor error.
const MAX_TTL_MS: u128 = 100 * 365 * 24 * 3600 * 1000;
/// Most lapsed sessions claimed by one sweep.
const SWEEP_LIMIT: usize = 1_000;

/// KEYS: presence key, index. ARGV: session id, entry JSON, ttl ms.
/// Returns 1 when the previous heartbeat had lapsed without being reported (the caller
/// reports it), else 0.
const HEARTBEAT: &str = with_now!(
    "
local old = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
if old and tonumber(old) <= now then return 1 end
return 0"
);

/// KEYS: presence key, index. ARGV: session id. Claims a lapsed session (exactly one caller
/// in the whole cluster gets 1).
const CLAIM: &str = "
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])";

/// KEYS: index, epoch marker. ARGV: presence key prefix, our epoch, claim (1/0), limit.
/// Returns `{'lost'}` when the marker is not ours (Redis lost its data), else the sessions
/// claimed now (lapsed, key gone).
const SWEEP: &str = with_now!(
    "
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return {'lost'} end
local out = {'ok'}
if ARGV[3] ~= '1' then return out end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, sid in ipairs(due) do
  if redis.call('EXISTS', ARGV[1] .. sid) == 0 then
    redis.call('ZREM', KEYS[1], sid)
    out[#out + 1] = sid
  end
end
return out"
);

/// KEYS: index. ARGV: presence key prefix. The JSON of every live session.
const ALIVE: &str = with_now!(
    "
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local out = {}
for _, sid in ipairs(ids) do
  local v = redis.call('GET', ARGV[1] .. sid)
  if v then out[#out + 1] = v end
end
return out"
);

/// KEYS: presence key, index. ARGV: session id.
const REMOVE: &str = "
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1";

/// KEYS: presence key, index. ARGV: session id, entry JSON, remaining ms. Re-creates a key
/// lost with Redis's data, unless a heartbeat already did.
const RESTORE: &str = with_now!(
    "
if redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX') then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
  return 1
end
return 0"
);

struct Scripts {
    heartbeat: Lua,
    claim: Lua,
    sweep: Lua,
    alive: Lua,
    remove: Lua,
    restore: Lua,
}

impl Scripts {
    fn new() -> Self {
        Self {
            heartbeat: Lua::new("presence heartbeat", HEARTBEAT),
            claim: Lua::new("presence claim", CLAIM),
            sweep: Lua::new("presence sweep", SWEEP),
            alive: Lua::new("presence list", ALIVE),
            remove: Lua::new("presence remove", REMOVE),
            restore: Lua::new("presence restore", RESTORE),
        }
    }
}

/// What this process last told Redis about a session: enough to restore it if Redis loses
/// its data.
struct Mirrored {
    value: String,
    deadline: Instant,
}

struct State {
    /// Sessions this process heartbeated, until reported, removed or long lapsed.
    mirror: HashMap<String, Mirrored>,
    subscribers: Vec<mpsc::UnboundedSender<String>>,
    /// The value of the epoch marker this process knows; a different or missing marker
    /// means Redis lost its data (restart without persistence, flush, failover).
    epoch: String,
}

struct Shared {
    keys: Keys,
    commands: Arc<Owned<Client>>,
    scripts: Scripts,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn has_subscribers(&self) -> bool {
        let mut state = self.state();
        state.subscribers.retain(|tx| !tx.is_closed());
        !state.subscribers.is_empty()
    }

    fn emit(&self, session_id: &str) {
        tracing::debug!(session_id, "presence expired");
        let mut state = self.state();
        state.mirror.remove(session_id);
        state
            .subscribers
            .retain(|tx| tx.send(session_id.to_owned()).is_ok());
    }

    fn epoch_key(&self) -> String {
        format!("{}:epoch", self.keys.presence_index())
    }
}

/// Agent presence shared by every server process on one Redis.
///
/// - `heartbeat`: `SET <prefix>presence:<sessionId> <PresenceEntry JSON> PX ttl` and the
///   session's expiry (Redis clock) in the sorted set `<prefix>presence:index:expiry`, in one
///   script. `is_alive`/`alive` read the keys, so a lapsed session is never reported alive.
/// - **Expirations**, from three sources: keyspace `expired` events on a dedicated subscriber
///   (the watcher turns `notify-keyspace-events` `Ex` on, adding to what is configured, on
///   start and after every reconnect; a refusal, e.g. on managed Redis, is logged as a warning
///   and the sweep alone then finds lapses), a sweep of the index every `sweep_interval`,
///   and right after every reconnect. Each lapse is **claimed** atomically (`ZREM` of the index
///   entry when the key is gone), so exactly one process in the cluster reports it, once; a
///   process only claims while something listens to its [`expirations`](Presence::expirations).
///   A heartbeat that finds its session lapsed but unclaimed reports that lapse itself.
/// - **Redis data loss** (a restart without persistence, a flush): an epoch marker key tells.
///   Then each process re-creates the keys of the sessions *it* heartbeated that are still
///   within their TTL (so agents are not failed because Redis restarted) and reports the ones
///   whose TTL lapsed meanwhile. Such a report may reach two processes if the session's
///   heartbeats went through both; consumers are idempotent (port contract).
/// - `remove` deletes key and index entry: no expiration.
/// - Known limit: a process that claimed a lapse and crashes before its consumer reacted loses
///   that report (the claim is the delivery).
pub struct RedisPresence {
    shared: Arc<Shared>,
    _tasks: Tasks,
}

impl RedisPresence {
    pub(crate) async fn start(config: &RedisConfig, commands: Arc<Owned<Client>>) -> Result<Self> {
        let shared = Arc::new(Shared {
            keys: Keys::new(config.key_prefix.clone()),
            commands,
            scripts: Scripts::new(),
            state: Mutex::new(State {
                mirror: HashMap::new(),
                subscribers: Vec::new(),
                epoch: random_hex()?,
            }),
        });
        adopt_epoch(&shared).await?;
        let subscriber = conn::subscriber(config)?;
        let reconnects = subscriber.reconnect_rx();
        let events = subscriber.keyspace_event_rx();
        subscriber
            .init()
            .await
            .map_err(RedisError::command("presence subscriber connect"))?;
        let db = shared.commands.client_config().database.unwrap_or(0);
        let channel = format!("__keyevent@{db}__:expired");
        on_connect(&subscriber, &shared, &channel).await;
        let task = tokio::spawn(watch(
            Owned(subscriber),
            Arc::clone(&shared),
            channel,
            reconnects,
            events,
            config
                .presence_sweep_interval
                .max(Duration::from_millis(10)),
        ));
        Ok(Self {
            shared,
            _tasks: Tasks(vec![task]),
        })
    }

    /// Checks for lapses and lost data now (the watcher also does it periodically).
    pub async fn reconcile(&self) -> Result<()> {
        reconcile(&self.shared).await
    }

    fn key_args(&self, session_id: &str) -> Vec<String> {
        vec![
            self.shared.keys.presence(session_id),
            self.shared.keys.presence_index(),
        ]
    }
}

/// Makes the epoch marker ours, or adopts the one another process set.
async fn adopt_epoch(shared: &Shared) -> Result<String> {
    let mine = shared.state().epoch.clone();
    let key = shared.epoch_key();
    let set: Option<String> = shared
        .commands
        .set(&key, mine.as_str(), None, Some(SetOptions::NX), false)
        .await
        .map_err(RedisError::command("presence epoch"))?;
    let epoch = if set.is_some() {
        mine
    } else {
        let current: Option<String> = shared
            .commands
            .get(&key)
            .await
            .map_err(RedisError::command("presence epoch"))?;
        current.unwrap_or(mine)
    };
    shared.state().epoch = epoch.clone();
    Ok(epoch)
}

/// Turns keyspace expiry events on (merging with the configured flags) and subscribes.
async fn on_connect(subscriber: &SubscriberClient, shared: &Shared, channel: &str) {
    if let Err(e) = enable_expiry_events(&shared.commands).await {
        tracing::warn!(
            error = %e,
            "cannot enable Redis keyspace notifications (CONFIG SET notify-keyspace-events \
             refused?); presence expirations will be found by the periodic sweep only"
        );
    }
    let mut pause = Duration::from_millis(50);
    loop {
        match subscriber.subscribe(channel.to_owned()).await {
            Ok(()) => {
                tracing::info!(channel, "presence watcher (re)subscribed");
                return;
            }
            Err(e) if subscriber.is_connected() => {
                tracing::warn!(error = %e, "SUBSCRIBE to expiry events failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e) => {
                tracing::warn!(error = %e, "SUBSCRIBE failed while disconnected; retrying on reconnect");
                return;
            }
        }
    }
}

/// The `notify-keyspace-events` flags configured now.
pub(crate) async fn keyspace_event_flags(commands: &Client) -> Result<String> {
    let current: HashMap<String, String> = commands
        .config_get("notify-keyspace-events")
        .await
        .map_err(RedisError::command("CONFIG GET notify-keyspace-events"))?;
    Ok(current
        .get("notify-keyspace-events")
        .cloned()
        .unwrap_or_default())
}

async fn enable_expiry_events(commands: &Client) -> Result<()> {
    let flags = keyspace_event_flags(commands).await?;
    let wanted = merged_flags(&flags);
    if wanted != flags {
        commands
            .config_set("notify-keyspace-events", wanted.as_str())
            .await
            .map_err(RedisError::command("CONFIG SET notify-keyspace-events"))?;
        tracing::info!(from = %flags, to = %wanted, "Redis keyspace notifications enabled");
    }
    Ok(())
}

/// `flags` plus `E` (keyevent channel) and `x` (expired), unless already covered (`A`).
fn merged_flags(flags: &str) -> String {
    let mut out = flags.to_owned();
    if !out.contains('E') {
        out.push('E');
    }
    if !out.contains('x') && !out.contains('A') {
        out.push('x');
    }
    out
}

async fn watch(
    subscriber: Owned<SubscriberClient>,
    shared: Arc<Shared>,
    channel: String,
    mut reconnects: broadcast::Receiver<Server>,
    mut events: broadcast::Receiver<KeyspaceEvent>,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let prefix = shared.keys.presence_prefix();
    loop {
        tokio::select! {
            reconnect = reconnects.recv() => match reconnect {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    on_connect(&subscriber, &shared, &channel).await;
                    log_failure(reconcile(&shared).await);
                }
                Err(RecvError::Closed) => return,
            },
            event = events.recv() => match event {
                Ok(event) => {
                    if event.operation != "expired" || !shared.has_subscribers() {
                        continue;
                    }
                    let Some(session_id) = event
                        .key
                        .as_str()
                        .and_then(|k| k.strip_prefix(prefix.as_str()))
                        .filter(|rest| !rest.is_empty() && !rest.contains(':'))
                    else {
                        continue;
                    };
                    log_failure(claim(&shared, session_id).await);
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "presence watcher missed expiry events; sweeping");
                    log_failure(reconcile(&shared).await);
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if shared.commands.is_connected() {
                    log_failure(reconcile(&shared).await);
                }
            }
        }
    }
}

fn log_failure(outcome: Result<()>) {
    if let Err(e) = outcome {
        tracing::debug!(error = %e, "presence reconciliation failed; retried on the next tick");
    }
}

async fn claim(shared: &Shared, session_id: &str) -> Result<()> {
    let claimed: i64 = shared
        .scripts
        .claim
        .call(
            &shared.commands,
            vec![
                shared.keys.presence(session_id),
                shared.keys.presence_index(),
            ],
            vec![session_id.to_owned()],
        )
        .await?;
    if claimed == 1 {
        shared.emit(session_id);
    }
    Ok(())
}

/// Claims every lapsed session; on lost data restores or reports what this process knew.
async fn reconcile(shared: &Shared) -> Result<()> {
    let started = Instant::now();
    let outcome = sweep(shared).await?;
    let claimed = match outcome {
        Sweep::Claimed(claimed) => claimed,
        Sweep::DataLost => {
            recover(shared).await?;
            match sweep(shared).await? {
                Sweep::Claimed(claimed) => claimed,
                Sweep::DataLost => return Ok(()), // lost again meanwhile; next tick
            }
        }
    };
    let complete = claimed.len() < SWEEP_LIMIT;
    for session_id in &claimed {
        shared.emit(session_id);
    }
    if complete {
        // Mirror entries that lapsed before this sweep started were claimed by now (by
        // this process or another): forget them.
        let slack = Duration::from_secs(1);
        shared
            .state()
            .mirror
            .retain(|_, m| m.deadline + slack > started);
    }
    Ok(())
}

enum Sweep {
    Claimed(Vec<String>),
    DataLost,
}

async fn sweep(shared: &Shared) -> Result<Sweep> {
    let epoch = shared.state().epoch.clone();
    let claim = if shared.has_subscribers() { "1" } else { "0" };
    let mut out: Vec<String> = shared
        .scripts
        .sweep
        .call(
            &shared.commands,
            vec![shared.keys.presence_index(), shared.epoch_key()],
            vec![
                shared.keys.presence_prefix(),
                epoch,
                claim.to_owned(),
                SWEEP_LIMIT.to_string(),
            ],
        )
        .await?;
    if out.first().map(String::as_str) == Some("lost") {
        return Ok(Sweep::DataLost);
    }
    out.drain(..1.min(out.len()));
    Ok(Sweep::Claimed(out))
}

/// Redis lost its data: re-creates the sessions this process knows to be within their TTL,
/// reports the ones that lapsed meanwhile.
async fn recover(shared: &Shared) -> Result<()> {
    // A fresh value: another process that recovered first must not be able to set the very
    // value this one knows (that would hide the loss from it).
    shared.state().epoch = random_hex()?;
    let epoch = adopt_epoch(shared).await?;
    let now = Instant::now();
    let (live, lapsed): (Vec<_>, Vec<_>) = {
        let state = shared.state();
        state
            .mirror
            .iter()
            .map(|(id, m)| (id.clone(), m.value.clone(), m.deadline))
            .partition(|(_, _, deadline)| *deadline > now)
    };
    tracing::warn!(
        epoch = %epoch,
        restored = live.len(),
        lapsed = lapsed.len(),
        "Redis lost the presence data (restart or flush); restoring this process's sessions"
    );
    for (session_id, value, deadline) in live {
        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
            .max(1);
        let _: i64 = shared
            .scripts
            .restore
            .call(
                &shared.commands,
                vec![
                    shared.keys.presence(&session_id),
                    shared.keys.presence_index(),
                ],
                vec![session_id.clone(), value, remaining.to_string()],
            )
            .await?;
    }
    for (session_id, _, _) in lapsed {
        shared.emit(&session_id);
    }
    Ok(())
}

fn ttl_ms(ttl: Duration) -> u128 {
    ttl.as_millis().clamp(1, MAX_TTL_MS)
}

#[async_trait]
impl Presence for RedisPresence {
    async fn heartbeat(&self, beat: &Heartbeat, ttl: Duration) -> maestro_domain::Result<()> {
        let ttl_ms = ttl_ms(ttl);
        let entry = PresenceEntry {
            session_id: beat.session_id.clone(),
            project_id: beat.project_id.clone(),
            last_seen: beat.last_seen,
            expires_at: beat
                .last_seen
                .saturating_add(i64::try_from(ttl_ms).unwrap_or(i64::MAX)),
        };
        let value = serde_json::to_string(&entry)
            .map_err(|e| maestro_domain::DomainError::Internal(e.to_string()))?;
        let sent = Instant::now();
        let lapsed: i64 = self
            .shared
            .scripts
            .heartbeat
            .call(
                &self.shared.commands,
                self.key_args(&beat.session_id),
                vec![beat.session_id.clone(), value.clone(), ttl_ms.to_string()],
            )
            .await?;
        if lapsed == 1 {
            self.shared.emit(&beat.session_id);
        }
        let deadline = sent + Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(u64::MAX));
        self.shared
            .state()
            .mirror
            .insert(beat.session_id.clone(), Mirrored { value, deadline });
        Ok(())
    }

    async fn is_alive(&self, session_id: &str) -> maestro_domain::Result<bool> {
        let n: i64 = self
            .shared
            .commands
            .exists(self.shared.keys.presence(session_id))
            .await
            .map_err(RedisError::command("EXISTS presence"))?;
        Ok(n == 1)
    }

    async fn alive(&self) -> maestro_domain::Result<Vec<PresenceEntry>> {
        let values: Vec<String> = self
            .shared
            .scripts
            .alive
            .call(
                &self.shared.commands,
                vec![self.shared.keys.presence_index()],
                vec![self.shared.keys.presence_prefix()],
            )
            .await?;
        let mut entries = values
            .iter()
            .map(|v| {
                serde_json::from_str::<PresenceEntry>(v)
                    .map_err(|e| RedisError::corrupt(self.shared.keys.presence("*"), e))
            })
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        Ok(entries)
    }

    async fn remove(&self, session_id: &str) -> maestro_domain::Result<()> {
        self.shared.state().mirror.remove(session_id);
        let _: i64 = self
            .shared
            .scripts
            .remove
            .call(
                &self.shared.commands,
                self.key_args(session_id),
                vec![session_id.to_owned()],
            )
            .await?;
        Ok(())
    }

    fn expirations(&self) -> BoxStream<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.state().subscribers.push(tx);
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|id| (id, rx))
        }))
    }
}

#[cfg(test)]
mod tests;
