//! [`RedisIdempotency`]: idempotency keys shared by every instance on one Redis.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::Expiration;
use maestro_domain::DomainError;
use maestro_domain::ports::{Claim, IdempotencyStore, RecordedResponse};
use serde::{Deserialize, Serialize};

use crate::conn::{Lua, Owned};
use crate::error::RedisError;
use crate::keys::Keys;

/// KEYS: the key. ARGV: the claim's value, ttl ms. Sets the key if it is free and returns
/// nothing; else returns what it holds.
const CLAIM: &str = "
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false";

/// What `<prefix>idem:<key>` holds (JSON).
#[derive(Debug, Serialize, Deserialize)]
struct Held {
    fingerprint: String,
    /// `None` while its request runs.
    response: Option<RecordedResponse>,
}

/// `<prefix>idem:<key>`: a claim is set by a Lua check-and-set (atomic on the Redis), a
/// response replaces it with `SET PX`, a release is `DEL`. The TTLs run on the Redis clock.
pub struct RedisIdempotency {
    keys: Keys,
    commands: Arc<Owned<Client>>,
    claim: Lua,
}

impl RedisIdempotency {
    pub(crate) fn new(keys: Keys, commands: Arc<Owned<Client>>) -> Self {
        Self {
            keys,
            commands,
            claim: Lua::new("idempotency claim", CLAIM),
        }
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis().max(1)).unwrap_or(i64::MAX)
}

fn encode(held: &Held) -> maestro_domain::Result<String> {
    serde_json::to_string(held).map_err(|e| DomainError::Internal(format!("idempotency: {e}")))
}

#[async_trait]
impl IdempotencyStore for RedisIdempotency {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        ttl: Duration,
    ) -> maestro_domain::Result<Claim> {
        let value = encode(&Held {
            fingerprint: fingerprint.to_string(),
            response: None,
        })?;
        let held: Option<String> = self
            .claim
            .call(
                &self.commands,
                vec![self.keys.idempotency(key)],
                vec![value, ttl_ms(ttl).to_string()],
            )
            .await?;
        let Some(held) = held else {
            return Ok(Claim::Claimed);
        };
        let held: Held = serde_json::from_str(&held).map_err(|e| {
            DomainError::Unavailable(format!("idempotency key {key} holds no claim: {e}"))
        })?;
        Ok(match held.response {
            None => Claim::InProgress {
                fingerprint: held.fingerprint,
            },
            Some(response) => Claim::Done {
                fingerprint: held.fingerprint,
                response,
            },
        })
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &RecordedResponse,
        ttl: Duration,
    ) -> maestro_domain::Result<()> {
        let value = encode(&Held {
            fingerprint: fingerprint.to_string(),
            response: Some(response.clone()),
        })?;
        let _: Option<String> = self
            .commands
            .set(
                self.keys.idempotency(key),
                value,
                Some(Expiration::PX(ttl_ms(ttl))),
                None,
                false,
            )
            .await
            .map_err(RedisError::command("SET PX idempotency"))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> maestro_domain::Result<()> {
        let _: i64 = self
            .commands
            .del(self.keys.idempotency(key))
            .await
            .map_err(RedisError::command("DEL idempotency"))?;
        Ok(())
    }
}
