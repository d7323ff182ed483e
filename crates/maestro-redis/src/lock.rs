//! [`RedisLock`]: `SET NX PX` leases with owner-checked release and extend.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use maestro_domain::ports::{Lease, Lock};

use crate::conn::{Lua, Owned};
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
}

impl RedisLock {
    pub(crate) fn new(keys: Keys, commands: Arc<Owned<Client>>) -> Self {
        Self {
            keys,
            commands,
            release: Lua::new("lock release", RELEASE),
            extend: Lua::new("lock extend", EXTEND),
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
}
