//! [`RedisMailRepo`]: mail in hashes, indexed by sorted sets, announced on streams.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use maestro_domain::DomainError;
use maestro_domain::model::{MailMessage, Millis};
use maestro_domain::ports::{InboxQuery, MailRepo};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::RedisConfig;
use crate::conn::{self, Lua, Owned, Role};
use crate::error::{RedisError, Result};
use crate::keys::Keys;

/// Entries kept per stream (approximately): the streams only wake waiters up; the hashes and
/// sorted sets hold the mail.
const STREAM_MAXLEN: &str = "10000";
/// Idle blocking connections kept for the next waits.
const MAX_IDLE_BLOCKING: usize = 16;
/// How often a wait re-reads when every blocking connection is taken.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// KEYS: hash, project set, all set, stream, project clock.
/// ARGV: id, JSON, createdAt, projectId, to ('' = broadcast), from, stamp (1/0), stream maxlen.
/// Stores a mail atomically; returns its `createdAt`, or nil when the id exists. With stamp=1
/// the `createdAt` becomes `max(createdAt, project clock + 1)`.
const CREATE: &str = "
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local created = tonumber(ARGV[3])
local last = redis.call('GET', KEYS[5])
if last then last = tonumber(last) end
if ARGV[7] == '1' and last and last >= created then created = last + 1 end
local c = string.format('%.0f', created)
if (not last) or created > last then redis.call('SET', KEYS[5], c) end
local entry = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'id', ARGV[1], 'createdAt', c)
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'createdAt', c, 'projectId', ARGV[4],
  'to', ARGV[5], 'from', ARGV[6], 'stream', KEYS[4], 'entry', entry)
redis.call('ZADD', KEYS[2], c, ARGV[1])
redis.call('ZADD', KEYS[3], c, ARGV[1])
return c";

/// KEYS: hash, all set. ARGV: project set key prefix, id.
const DELETE: &str = "
local f = redis.call('HMGET', KEYS[1], 'projectId', 'stream', 'entry')
if not f[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. f[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
if f[2] and f[3] then redis.call('XDEL', f[2], f[3]) end
return 1";

/// KEYS: a sorted set of mail ids, then streams whose last entry id to report.
/// ARGV: min score ('-inf' or '(since'), mail hash key prefix, session ('' = every mail, else
/// the inbox rule: addressed to it, or a broadcast not sent by it).
/// Returns the streams' last ids ('0-0' if none), then JSON, createdAt pairs in set order.
const FETCH: &str = "
local out = {}
for i = 2, #KEYS do
  local last = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
  if last[1] then out[#out + 1] = last[1][1] else out[#out + 1] = '0-0' end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[2] .. id, 'data', 'createdAt', 'to', 'from')
  if f[1] then
    local keep = true
    if ARGV[3] ~= '' then
      if f[3] ~= '' then keep = (f[3] == ARGV[3]) else keep = (f[4] ~= ARGV[3]) end
    end
    if keep then
      out[#out + 1] = f[1]
      out[#out + 1] = f[2]
    end
  end
end
return out";

/// Mail on Redis (EVENTS.md §6).
///
/// - **Storage**: the hash `<prefix>mail:<id>` (the mail as JSON plus its index fields), the
///   sorted sets `<prefix>mail:project:<projectId>` and `<prefix>mail:index:all` (score =
///   `createdAt`, ties by id as Redis orders equal scores), and one stream entry
///   (`id`, `createdAt`): `<prefix>mail:inbox:<sessionId>` for addressed mail,
///   `<prefix>mail:broadcast:<projectId>` for broadcasts (trimmed to ~10,000 entries: they
///   only wake waiters). `create` and `delete` are single Lua scripts, so a mail is either
///   fully stored (and visible to `inbox` when `create` returns) or not at all.
/// - **Reads**: `inbox` and `list` read the project's sorted set from `since` (exclusive) and
///   the hashes in one script; the inbox rule and the kind are applied there and in Rust.
///   Cost is proportional to the project's mail newer than `since`.
/// - **Blocking wait** (`supports_blocking_wait() = true`): `wait_inbox` atomically reads the
///   inbox newer than the caller's `since` together with the last entry ids of the session's
///   inbox stream and the project's broadcast stream; if nothing matches it blocks in
///   `XREAD BLOCK` from those ids on a dedicated connection (pooled, one per concurrent wait,
///   at most `mail_max_blocking` at once; past that, waits poll every 250 ms). Any entry (a
///   mail stored by any process) wakes it and it reads again; so no mail stored after the
///   read is missed, and nothing is returned twice within one call. A cancelled wait closes
///   its connection (it cannot be reused mid-`XREAD`).
/// - **`createdAt` across processes**: the mail service stamps strictly increasing
///   `createdAt` per process, under a per-process lock held until `create` returns, so within
///   one process `createdAt` order is store order and a poller re-polling with the last
///   `createdAt` it saw misses nothing. Across processes the stamps come from different
///   clocks: a mail stamped by process B *lower* than one process A stored earlier in the
///   same project is invisible to a poller that already advanced `since` past it (clock skew,
///   or two stamps racing within a millisecond). [`RedisMailRepo::create_stamped`] closes
///   that gap by letting the script assign `createdAt = max(wanted, project clock + 1)`
///   atomically with the store (strictly increasing in store order per project, across
///   processes); it needs the service to call it (a port change, proposed).
pub struct RedisMailRepo {
    keys: Keys,
    commands: Arc<Owned<Client>>,
    blocking: Arc<BlockingPool>,
    create: Lua,
    delete: Lua,
    fetch: Lua,
}

impl RedisMailRepo {
    pub(crate) fn new(config: &RedisConfig, commands: Arc<Owned<Client>>) -> Self {
        Self {
            keys: Keys::new(config.key_prefix.clone()),
            commands,
            blocking: Arc::new(BlockingPool {
                config: config.clone(),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(config.mail_max_blocking.max(1))),
                reads_started: AtomicU64::new(0),
            }),
            create: Lua::new("mail create", CREATE),
            delete: Lua::new("mail delete", DELETE),
            fetch: Lua::new("mail read", FETCH),
        }
    }

    /// How many blocking reads (`XREAD BLOCK`) waits have started. Each starts after the wait's
    /// snapshot of the inbox and blocks from its stream positions, so once this count has
    /// grown, a mail stored afterwards wakes that wait: a readiness signal for tests and a
    /// figure for operators.
    pub fn blocking_reads_started(&self) -> u64 {
        self.blocking.reads_started.load(Ordering::SeqCst)
    }

    /// Stores `mail` with `createdAt = max(mail.created_at, highest createdAt stored in its
    /// project + 1)`, assigned atomically with the store, and returns the stored mail. Mail
    /// stored this way by any number of processes has strictly increasing `createdAt` in
    /// store order per project, so `since`-polling never misses any.
    pub async fn create_stamped(&self, mail: MailMessage) -> Result<Option<MailMessage>> {
        self.store(mail, true).await
    }

    async fn store(&self, mut mail: MailMessage, stamp: bool) -> Result<Option<MailMessage>> {
        let data = serde_json::to_string(&mail)
            .map_err(|e| RedisError::corrupt(self.keys.mail(&mail.id), e))?;
        let stream = match &mail.to_session_id {
            Some(to) => self.keys.mail_inbox(to),
            None => self.keys.mail_broadcast(&mail.project_id),
        };
        let created: Option<String> = self
            .create
            .call(
                &self.commands,
                vec![
                    self.keys.mail(&mail.id),
                    self.keys.mail_project(&mail.project_id),
                    self.keys.mail_all(),
                    stream,
                    self.keys.mail_clock(&mail.project_id),
                ],
                vec![
                    mail.id.clone(),
                    data,
                    mail.created_at.to_string(),
                    mail.project_id.clone(),
                    mail.to_session_id.clone().unwrap_or_default(),
                    mail.from_session_id.clone(),
                    if stamp { "1" } else { "0" }.to_owned(),
                    STREAM_MAXLEN.to_owned(),
                ],
            )
            .await?;
        let Some(created) = created else {
            return Ok(None);
        };
        mail.created_at = parse_millis(&self.keys.mail(&mail.id), &created)?;
        Ok(Some(mail))
    }

    /// Mails of the sorted set `set` newer than `since` (matching `session`'s inbox rule when
    /// given), sorted; with the last entry ids of `streams` read in the same script.
    async fn fetch(
        &self,
        set: String,
        streams: Vec<String>,
        since: Option<Millis>,
        session: Option<&str>,
    ) -> Result<(Vec<String>, Vec<MailMessage>)> {
        let n_streams = streams.len();
        let mut keys = vec![set];
        keys.extend(streams);
        let min = since.map_or_else(|| "-inf".to_owned(), |s| format!("({s}"));
        let out: Vec<String> = self
            .fetch
            .call(
                &self.commands,
                keys,
                vec![
                    min,
                    self.keys.mail_prefix(),
                    session.unwrap_or_default().to_owned(),
                ],
            )
            .await?;
        if out.len() < n_streams || !(out.len() - n_streams).is_multiple_of(2) {
            return Err(RedisError::corrupt(
                self.keys.mail_prefix(),
                "unexpected reply of the mail read script",
            ));
        }
        let tails = out[..n_streams].to_vec();
        let mut mails = out[n_streams..]
            .chunks_exact(2)
            .map(|pair| self.decode(&pair[0], &pair[1]))
            .collect::<Result<Vec<_>>>()?;
        mails.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok((tails, mails))
    }

    fn decode(&self, data: &str, created_at: &str) -> Result<MailMessage> {
        let mut mail: MailMessage =
            serde_json::from_str(data).map_err(|e| RedisError::corrupt(self.keys.mail("?"), e))?;
        // The hash's `createdAt` is authoritative (a stamped create may have changed it).
        mail.created_at = parse_millis(&self.keys.mail(&mail.id), created_at)?;
        Ok(mail)
    }

    /// The inbox newer than the query's `since`, and the tails of the streams that announce
    /// new mail for it, read atomically.
    async fn snapshot(&self, query: &InboxQuery) -> Result<(Vec<String>, Vec<MailMessage>)> {
        let (tails, mut mails) = self
            .fetch(
                self.keys.mail_project(&query.project_id),
                self.wait_streams(query),
                query.since,
                Some(&query.session_id),
            )
            .await?;
        mails.retain(|m| query.matches(m));
        Ok((tails, mails))
    }

    fn wait_streams(&self, query: &InboxQuery) -> Vec<String> {
        vec![
            self.keys.mail_inbox(&query.session_id),
            self.keys.mail_broadcast(&query.project_id),
        ]
    }
}

fn parse_millis(key: &str, text: &str) -> Result<Millis> {
    text.parse::<Millis>()
        .map_err(|e| RedisError::corrupt(key, format!("createdAt '{text}': {e}")))
}

#[async_trait]
impl MailRepo for RedisMailRepo {
    async fn create(&self, mail: MailMessage) -> maestro_domain::Result<MailMessage> {
        let id = mail.id.clone();
        match self.store(mail, false).await? {
            Some(mail) => Ok(mail),
            None => Err(DomainError::Conflict(format!(
                "Mail message with id '{id}' already exists"
            ))),
        }
    }

    async fn create_stamped(&self, mail: MailMessage) -> maestro_domain::Result<MailMessage> {
        let id = mail.id.clone();
        match self.store(mail, true).await? {
            Some(mail) => Ok(mail),
            None => Err(DomainError::Conflict(format!(
                "Mail message with id '{id}' already exists"
            ))),
        }
    }

    async fn get(&self, id: &str) -> maestro_domain::Result<Option<MailMessage>> {
        let key = self.keys.mail(id);
        let fields: (Option<String>, Option<String>) = self
            .commands
            .hmget(&key, vec!["data", "createdAt"])
            .await
            .map_err(RedisError::command("HMGET mail"))?;
        match fields {
            (Some(data), Some(created_at)) => Ok(Some(self.decode(&data, &created_at)?)),
            _ => Ok(None),
        }
    }

    async fn delete(&self, id: &str) -> maestro_domain::Result<bool> {
        let n: i64 = self
            .delete
            .call(
                &self.commands,
                vec![self.keys.mail(id), self.keys.mail_all()],
                vec![
                    format!("{}mail:project:", self.keys.prefix()),
                    id.to_owned(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn inbox(&self, query: &InboxQuery) -> maestro_domain::Result<Vec<MailMessage>> {
        Ok(self.snapshot(query).await?.1)
    }

    async fn list<'a>(
        &self,
        project_id: Option<&'a str>,
    ) -> maestro_domain::Result<Vec<MailMessage>> {
        let set = match project_id {
            Some(p) => self.keys.mail_project(p),
            None => self.keys.mail_all(),
        };
        Ok(self.fetch(set, Vec::new(), None, None).await?.1)
    }

    fn supports_blocking_wait(&self) -> bool {
        true
    }

    async fn wait_inbox(
        &self,
        query: &InboxQuery,
        timeout: Duration,
    ) -> maestro_domain::Result<Vec<MailMessage>> {
        let deadline = Instant::now() + timeout;
        loop {
            let (tails, found) = self.snapshot(query).await?;
            if !found.is_empty() {
                return Ok(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(found);
            }
            let Some(mut lease) = self.blocking.lease().await else {
                tokio::time::sleep(left.min(POLL_EVERY)).await;
                continue;
            };
            match lease.block(self.wait_streams(query), tails, left).await {
                // Something was appended after the snapshot: read again.
                Ok(true) => lease.reusable = true,
                // Nothing new on either stream since the (empty) snapshot.
                Ok(false) => {
                    lease.reusable = true;
                    return Ok(Vec::new());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "XREAD BLOCK failed; reading again");
                    tokio::time::sleep(left.min(Duration::from_millis(100))).await;
                }
            }
        }
    }
}

/// Connections for `XREAD BLOCK`, one per concurrent wait.
struct BlockingPool {
    config: RedisConfig,
    idle: Mutex<Vec<Client>>,
    permits: Arc<Semaphore>,
    /// Blocking reads started ([`RedisMailRepo::blocking_reads_started`]).
    reads_started: AtomicU64,
}

impl BlockingPool {
    fn idle(&self) -> MutexGuard<'_, Vec<Client>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection for one blocking read, or `None` when `mail_max_blocking` are in use or
    /// none can be opened (the caller polls instead).
    async fn lease(self: &Arc<Self>) -> Option<BlockingLease> {
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok()?;
        let reused = loop {
            let Some(client) = self.idle().pop() else {
                break None;
            };
            if client.is_connected() {
                break Some(client);
            }
            close(client);
        };
        let client = match reused {
            Some(c) => c,
            None => match conn::connect(&self.config, Role::Blocking).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open a blocking Redis connection; polling");
                    return None;
                }
            },
        };
        Some(BlockingLease {
            client: Some(client),
            pool: Arc::clone(self),
            reusable: false,
            _permit: permit,
        })
    }
}

fn close(client: Client) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), client.quit()).await;
        });
    }
}

struct BlockingLease {
    client: Option<Client>,
    pool: Arc<BlockingPool>,
    /// Set when the last read completed: the connection is idle and may be reused.
    reusable: bool,
    _permit: OwnedSemaphorePermit,
}

impl BlockingLease {
    /// `XREAD BLOCK` on `streams` after `ids`; whether any entry arrived within `wait`.
    async fn block(
        &mut self,
        streams: Vec<String>,
        ids: Vec<String>,
        wait: Duration,
    ) -> Result<bool> {
        let Some(client) = &self.client else {
            return Ok(false);
        };
        self.reusable = false;
        let block_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        let options = Options {
            timeout: Some(wait + self.pool.config.command_timeout),
            max_attempts: Some(1),
            ..Options::default()
        };
        self.pool.reads_started.fetch_add(1, Ordering::SeqCst);
        let reply: Value = client
            .with_options(&options)
            .xread(Some(1), Some(block_ms), streams, ids)
            .await
            .map_err(RedisError::command("XREAD BLOCK"))?;
        Ok(!reply.is_null())
    }
}

impl Drop for BlockingLease {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let mut idle = self.pool.idle();
        if self.reusable && client.is_connected() && idle.len() < MAX_IDLE_BLOCKING {
            idle.push(client);
        } else {
            drop(idle);
            close(client);
        }
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        for client in self.idle().drain(..) {
            close(client);
        }
    }
}
