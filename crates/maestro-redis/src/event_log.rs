//! [`RedisEventLog`]: one Redis Stream per project, shared by every server process.

use std::sync::Arc;

use async_trait::async_trait;
use fred::prelude::*;
use maestro_domain::DomainEvent;
use maestro_domain::ports::{EventId, EventLog, Gap, LoggedEvent, Replay, Retention};

use crate::conn::{Lua, Owned};
use crate::error::RedisError;
use crate::keys::Keys;

/// Lua prelude: drops the entries of KEYS[1] older than ARGV[1] ms by Redis's clock.
macro_rules! trim_by_age {
    () => {
        "
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local oldest = now - tonumber(ARGV[1])
if oldest > 0 then redis.call('XTRIM', KEYS[1], 'MINID', tostring(oldest)) end
"
    };
}

/// KEYS: stream. ARGV: max age ms, max len, event JSON. Returns the new id.
const APPEND: &str = concat!(
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], '*', 'e', ARGV[3])",
    trim_by_age!(),
    "redis.call('PEXPIRE', KEYS[1], ARGV[1])
return id"
);

/// KEYS: stream. ARGV: max age ms, since, count. Returns nil when `since` is not in the
/// stream (after age trimming), else the entries after it (at most count).
const READ_AFTER: &str = concat!(
    trim_by_age!(),
    "if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then return false end
return redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])"
);

/// KEYS: stream. ARGV: max age ms. Returns the newest id, or nil.
const LATEST: &str = concat!(
    trim_by_age!(),
    "local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return false end
return last[1][1]"
);

/// An [`EventLog`] on Redis Streams: `<prefix>eventlog:<projectId>`, one entry per event
/// with the field `e` = the event's JSON (`{event, data}`).
///
/// - `append` is one Lua script: `XADD … MAXLEN <n> *` (exact trimming, so the length bound
///   holds), `XTRIM MINID` of entries older than the age bound by Redis's clock, and
///   `PEXPIRE` of the key by the same age (a quiet project's log goes away by itself). Redis
///   assigns the id, so ids are ordered across every process on this Redis.
/// - `read_after` is one script too (age trim, "is `since` still there", `XRANGE (since`), so
///   a trim cannot slip between the check and the read.
/// - A Redis that lost its data (restart without persistence) has no `since` any more: every
///   resume then answers a gap, and clients take a snapshot.
pub struct RedisEventLog {
    keys: Keys,
    commands: Arc<Owned<Client>>,
    retention: Retention,
    append: Lua,
    read_after: Lua,
    latest: Lua,
}

impl RedisEventLog {
    pub(crate) fn new(keys: Keys, commands: Arc<Owned<Client>>, retention: Retention) -> Self {
        Self {
            keys,
            commands,
            retention: Retention {
                max_len: retention.max_len.max(1),
                max_age: retention.max_age,
            },
            append: Lua::new("event log append", APPEND),
            read_after: Lua::new("event log read", READ_AFTER),
            latest: Lua::new("event log latest", LATEST),
        }
    }

    fn age_ms(&self) -> String {
        self.retention
            .max_age
            .as_millis()
            .clamp(1, i64::MAX as u128)
            .to_string()
    }
}

fn id_of(key: &str, v: &Value) -> Result<EventId, RedisError> {
    let s = v
        .as_str()
        .ok_or_else(|| RedisError::corrupt(key, "stream id is not a string"))?;
    s.parse()
        .map_err(|_| RedisError::corrupt(key, format!("stream id '{s}' is not <ms>-<seq>")))
}

/// `[id, [field, value, …]]` → the logged event.
fn entry_of(key: &str, entry: Value) -> Result<LoggedEvent, RedisError> {
    let Value::Array(mut parts) = entry else {
        return Err(RedisError::corrupt(key, "stream entry is not an array"));
    };
    if parts.len() != 2 {
        return Err(RedisError::corrupt(key, "stream entry is not [id, fields]"));
    }
    let fields = parts.pop().unwrap_or(Value::Null);
    let id = id_of(key, &parts[0])?;
    let Value::Array(fields) = fields else {
        return Err(RedisError::corrupt(
            key,
            "stream entry fields are not an array",
        ));
    };
    let json = fields
        .chunks(2)
        .find(|kv| kv[0].as_str().as_deref() == Some("e"))
        .and_then(|kv| kv.get(1))
        .and_then(Value::as_str)
        .ok_or_else(|| RedisError::corrupt(key, format!("entry {id} has no field 'e'")))?;
    let event: DomainEvent = serde_json::from_str(&json)
        .map_err(|e| RedisError::corrupt(key, format!("entry {id}: {e}")))?;
    Ok(LoggedEvent { id, event })
}

#[async_trait]
impl EventLog for RedisEventLog {
    async fn append(
        &self,
        project_id: &str,
        event: &DomainEvent,
    ) -> maestro_domain::Result<EventId> {
        let key = self.keys.event_log(project_id);
        let json = serde_json::to_string(event)
            .map_err(|e| maestro_domain::DomainError::Internal(format!("event to JSON: {e}")))?;
        let id: Value = self
            .append
            .call(
                &self.commands,
                vec![key.clone()],
                vec![self.age_ms(), self.retention.max_len.to_string(), json],
            )
            .await?;
        Ok(id_of(&key, &id)?)
    }

    async fn read_after(
        &self,
        project_id: &str,
        since: &EventId,
        max: usize,
    ) -> maestro_domain::Result<Replay> {
        let key = self.keys.event_log(project_id);
        let answer: Value = self
            .read_after
            .call(
                &self.commands,
                vec![key.clone()],
                vec![
                    self.age_ms(),
                    since.to_string(),
                    (max.saturating_add(1)).to_string(),
                ],
            )
            .await?;
        let entries = match answer {
            Value::Null => return Ok(Replay::Gap(Gap::Unknown)),
            Value::Array(entries) => entries,
            _ => return Err(RedisError::corrupt(key, "unexpected read answer").into()),
        };
        if entries.len() > max {
            return Ok(Replay::Gap(Gap::TooMany));
        }
        let events = entries
            .into_iter()
            .map(|e| entry_of(&key, e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Replay::Events(events))
    }

    async fn latest(&self, project_id: &str) -> maestro_domain::Result<Option<EventId>> {
        let key = self.keys.event_log(project_id);
        let answer: Value = self
            .latest
            .call(&self.commands, vec![key.clone()], vec![self.age_ms()])
            .await?;
        match answer {
            Value::Null => Ok(None),
            v => Ok(Some(id_of(&key, &v)?)),
        }
    }
}
