//! [`RedisLock`]: `SET NX PX` leases with owner-checked release and extend.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use maestro_domain::ports::{Fenced, FencedLease, Lease, Lock};

use crate::conn::{Lua, Owned, with_now};
use crate::error::{RedisError, random_hex};
use crate::keys::Keys;

/// Longest TTL honoured (a century).
const MAX_TTL_MS: u128 = 100 * 365 * 24 * 3600 * 1000;

/// KEYS: lock key. ARGV: token. Deletes the key only for its owner.
const RELEASE: &str = "
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// KEYS: lock key. ARGV: token, ttl ms. Renews the TTL only for its owner.
const EXTEND: &str = "
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0";

/// A distributed lock on one Redis (the single-instance pattern of
/// <https://redis.io/docs/latest/develop/use/patterns/distributed-locks/>).
///
/// `try_acquire` is `SET <prefix>lock:<resource> <token> NX PX <ttl>` with a fresh random
/// 128-bit token; `release` and `extend` are Lua compare-and-act scripts (`EVALSHA`, loaded
/// again after a Redis restart), so a holder whose lease lapsed can neither release nor
/// extend its successor's lease. TTLs are clamped to 1 ms..100 years.
///
/// Limits: mutual exclusion rests on one Redis. A Redis restart without persistence, or a
/// failover to a replica that missed the write, frees every lock; a holder paused longer than
/// its TTL (GC, suspended VM) may still act after it lapsed. Keep critical sections short
/// and their writes idempotent or conditional (what `with_lock` users in the task service do).
pub struct RedisLock {
    keys: Keys,
    commands: Arc<Owned<Client>>,
    release: Lua,
    extend: Lua,
    acquire_fenced: Lua,
    fenced_holder: Lua,
    release_fenced: Lua,
    live_fenced: Lua,
}

/// A fenced lease is the key `lock:<resource>` holding `<fence>:<owner>` with a PX TTL; the
/// fence comes from `fence:<resource>`, a counter without TTL (so fences never repeat). The
/// sorted set `fence-index` scores each resource by its lease's expiry (Redis clock), so live
/// leases are counted without a scan; lapsed entries are dropped by every new acquisition and
/// every count, so the set holds about the live leases whether or not anything counts.
/// KEYS: lease, counter, index; ARGV: owner, ttl ms, resource. Returns {granted 1|0, fence,
/// owner, pttl, renewed 1|0}.
const ACQUIRE_FENCED: &str = with_now!(
    "
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  local fence = string.sub(cur, 1, sep - 1)
  local owner = string.sub(cur, sep + 1)
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[3])
    return {1, fence, owner, tonumber(ARGV[2]), 1}
  end
  return {0, fence, owner, redis.call('PTTL', KEYS[1]), 0}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[3])
return {1, tostring(fence), ARGV[1], tonumber(ARGV[2]), 0}"
);

/// KEYS: lease. Returns {} when free, else {fence, owner, pttl}.
const FENCED_HOLDER: &str = "
local cur = redis.call('GET', KEYS[1])
if not cur then return {} end
local sep = string.find(cur, ':', 1, true)
return {string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1), redis.call('PTTL', KEYS[1])}";

/// KEYS: lease, index; ARGV: owner, resource. Deletes the lease if `owner` holds it.
const RELEASE_FENCED: &str = "
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local sep = string.find(cur, ':', 1, true)
if string.sub(cur, sep + 1) == ARGV[1] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0";

/// KEYS: index. Drops the lapsed entries and counts the rest.
const LIVE_FENCED: &str = with_now!(
    "
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])"
);

/// `(fence, owner, pttl)` of a script answer about the lease at `key`.
fn lease_of(
    key: &str,
    fence: &Value,
    owner: &Value,
    pttl: &Value,
) -> Result<FencedLease, RedisError> {
    let bad = || RedisError::corrupt(key, "not a fenced lease (`<fence>:<owner>`)");
    let fence = match fence {
        Value::String(s) => s.parse().map_err(|_| bad())?,
        Value::Integer(i) => u64::try_from(*i).map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    let owner = owner.as_string().ok_or_else(bad)?;
    let ms = pttl.as_i64().unwrap_or(0).max(0) as u64;
    Ok(FencedLease {
        owner,
        fence,
        ttl_left: Duration::from_millis(ms),
    })
}

impl RedisLock {
    pub(crate) fn new(keys: Keys, commands: Arc<Owned<Client>>) -> Self {
        Self {
            keys,
            commands,
            release: Lua::new("lock release", RELEASE),
            extend: Lua::new("lock extend", EXTEND),
            acquire_fenced: Lua::new("fenced lock acquire", ACQUIRE_FENCED),
            fenced_holder: Lua::new("fenced lock holder", FENCED_HOLDER),
            release_fenced: Lua::new("fenced lock release", RELEASE_FENCED),
            live_fenced: Lua::new("fenced lock count", LIVE_FENCED),
        }
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis().clamp(1, MAX_TTL_MS)).unwrap_or(i64::MAX)
}

#[async_trait]
impl Lock for RedisLock {
    async fn try_acquire(
        &self,
        resource: &str,
        ttl: Duration,
    ) -> maestro_domain::Result<Option<Lease>> {
        let token = random_hex()?;
        let set: Option<String> = self
            .commands
            .set(
                self.keys.lock(resource),
                token.as_str(),
                Some(Expiration::PX(ttl_ms(ttl))),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(RedisError::command("SET NX PX lock"))?;
        Ok(set.map(|_| Lease {
            resource: resource.to_owned(),
            token,
        }))
    }

    async fn release(&self, lease: &Lease) -> maestro_domain::Result<bool> {
        let n: i64 = self
            .release
            .call(
                &self.commands,
                vec![self.keys.lock(&lease.resource)],
                vec![lease.token.clone()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn extend(&self, lease: &Lease, ttl: Duration) -> maestro_domain::Result<bool> {
        let n: i64 = self
            .extend
            .call(
                &self.commands,
                vec![self.keys.lock(&lease.resource)],
                vec![lease.token.clone(), ttl_ms(ttl).to_string()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn acquire_fenced(
        &self,
        resource: &str,
        owner: &str,
        ttl: Duration,
    ) -> maestro_domain::Result<Fenced> {
        let key = self.keys.lock(resource);
        let answer: Vec<Value> = self
            .acquire_fenced
            .call(
                &self.commands,
                vec![
                    key.clone(),
                    self.keys.fence(resource),
                    self.keys.fenced_index(),
                ],
                vec![
                    owner.to_owned(),
                    ttl_ms(ttl).to_string(),
                    resource.to_owned(),
                ],
            )
            .await?;
        let [granted, fence, holder, pttl, renewed] = answer.as_slice() else {
            return Err(RedisError::corrupt(key, "unexpected fenced acquire answer").into());
        };
        let lease = lease_of(&key, fence, holder, pttl)?;
        Ok(if granted.as_i64() == Some(1) {
            Fenced::Granted {
                lease,
                renewed: renewed.as_i64() == Some(1),
            }
        } else {
            Fenced::Held(lease)
        })
    }

    async fn fenced_holder(&self, resource: &str) -> maestro_domain::Result<Option<FencedLease>> {
        let key = self.keys.lock(resource);
        let answer: Vec<Value> = self
            .fenced_holder
            .call(&self.commands, vec![key.clone()], vec![])
            .await?;
        match answer.as_slice() {
            [] => Ok(None),
            [fence, owner, pttl] => Ok(Some(lease_of(&key, fence, owner, pttl)?)),
            _ => Err(RedisError::corrupt(key, "unexpected fenced holder answer").into()),
        }
    }

    async fn release_fenced(&self, resource: &str, owner: &str) -> maestro_domain::Result<bool> {
        let n: i64 = self
            .release_fenced
            .call(
                &self.commands,
                vec![self.keys.lock(resource), self.keys.fenced_index()],
                vec![owner.to_owned(), resource.to_owned()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn live_fenced(&self) -> maestro_domain::Result<usize> {
        let n: i64 = self
            .live_fenced
            .call(&self.commands, vec![self.keys.fenced_index()], vec![])
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}
