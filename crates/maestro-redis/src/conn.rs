//! Building fred clients, and the Lua scripts' call helper.

use std::time::Duration;

use fred::prelude::*;
use fred::types::scripts::Script;

use crate::RedisConfig;
use crate::error::{RedisError, Result};

/// Capacity of fred's internal broadcast channels (pub/sub messages, keyspace events) on our
/// subscriber connections; fred's default of 32 would drop messages under a burst.
const SUBSCRIBER_BROADCAST_CAPACITY: usize = 16_384;

/// What a client is for; decides its reconnect policy and command timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Ordinary commands, shared by every adapter: reconnects forever, commands time out
    /// after `command_timeout`.
    Commands,
    /// A pub/sub connection: reconnects forever; the owner re-subscribes on every reconnect.
    Subscriber,
    /// A connection for one `XREAD BLOCK` at a time: no reconnect (a broken one is dropped and
    /// replaced), no default timeout (each read sets its own).
    Blocking,
}

fn builder(config: &RedisConfig, role: Role) -> Result<Builder> {
    let fred_config = Config::from_url(&config.url)
        .map_err(|e| RedisError::Config(format!("REDIS_URL '{}': {e}", redact(&config.url))))?;
    let mut builder = Builder::from_config(fred_config);
    let command_timeout = config.command_timeout;
    let connect_timeout = config.connect_timeout;
    builder.with_connection_config(|c| {
        c.connection_timeout = connect_timeout;
        c.internal_command_timeout = command_timeout;
        // A command in flight when the connection drops is retried once after reconnecting.
        c.max_command_attempts = 2;
        c.tcp.nodelay = Some(true);
    });
    builder.with_performance_config(|p| {
        p.default_command_timeout = match role {
            Role::Commands | Role::Subscriber => command_timeout,
            Role::Blocking => Duration::ZERO,
        };
        if role == Role::Subscriber {
            p.broadcast_channel_capacity = SUBSCRIBER_BROADCAST_CAPACITY;
        }
    });
    if role != Role::Blocking {
        let min = u32::try_from(config.reconnect_min.as_millis()).unwrap_or(u32::MAX);
        let max = u32::try_from(config.reconnect_max.as_millis()).unwrap_or(u32::MAX);
        // 0 attempts = retry forever (fred's default policy is *no* reconnect at all).
        builder.set_policy(ReconnectPolicy::new_exponential(
            0,
            min.max(1),
            max.max(min),
            2,
        ));
    }
    Ok(builder)
}

/// A connected client for `role`. Fails if the first connection fails.
pub(crate) async fn connect(config: &RedisConfig, role: Role) -> Result<Client> {
    let client = builder(config, role)?
        .build()
        .map_err(RedisError::command("client setup"))?;
    client
        .init()
        .await
        .map_err(RedisError::command("connect"))?;
    Ok(client)
}

/// A subscriber client, not yet connected (the owner subscribes to its reconnect events
/// first, so that the first connection is seen too).
pub(crate) fn subscriber(config: &RedisConfig) -> Result<fred::clients::SubscriberClient> {
    builder(config, Role::Subscriber)?
        .build_subscriber_client()
        .map_err(RedisError::command("subscriber setup"))
}

/// The URL without its password, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// A Lua body prefixed with `now`, the Redis clock in milliseconds (one clock for every
/// TTL and score the scripts compare).
macro_rules! with_now {
    ($body:literal) => {
        concat!(
            "local t = redis.call('TIME')\n",
            "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
            $body
        )
    };
}
pub(crate) use with_now;

/// A Lua script run with `EVALSHA`, loaded again after a `NOSCRIPT` (a Redis restart empties
/// the script cache).
pub(crate) struct Lua {
    script: Script,
    name: &'static str,
}

impl Lua {
    pub(crate) fn new(name: &'static str, source: &'static str) -> Self {
        Self {
            script: Script::from_lua(source),
            name,
        }
    }

    pub(crate) async fn call<R: FromValue>(
        &self,
        client: &Client,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<R> {
        self.script
            .evalsha_with_reload::<R, _, _>(client, keys, args)
            .await
            .map_err(|source| RedisError::Command {
                context: self.name,
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("redis://:s3cret@host:6379/0"),
            "redis://***@host:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}

/// A client that is closed (`QUIT`, stopping its reconnect loop) when the last owner drops it.
pub(crate) struct Owned<C: ClientLike + 'static>(pub(crate) C);

impl<C: ClientLike + 'static> std::ops::Deref for Owned<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C: ClientLike + 'static> Drop for Owned<C> {
    fn drop(&mut self) {
        // Without a runtime (or while it shuts down) the connection task dies with it anyway.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let client = self.0.clone();
            handle.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), client.quit()).await;
            });
        }
    }
}

/// Background tasks aborted when the owner drops.
#[derive(Default)]
pub(crate) struct Tasks(pub(crate) Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}
