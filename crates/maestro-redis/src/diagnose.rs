//! [`diagnose`]: what `maestro-server doctor` needs to know about a Redis, on a connection of
//! its own that changes nothing.

use fred::prelude::*;
use fred::types::InfoKind;

use crate::RedisConfig;
use crate::conn::{self, Owned, Role};
use crate::error::{RedisError, Result};

/// The oldest Redis these adapters work with: the event log trims streams with `XTRIM MINID`
/// (6.2).
pub const MIN_VERSION: (u32, u32) = (6, 2);

/// What a Redis told [`diagnose`].
#[derive(Debug)]
pub struct Diagnosis {
    /// `redis_version` of `INFO server` (a Valkey answers its Redis-compatible version).
    pub version: String,
    /// Whether `version` is at least [`MIN_VERSION`].
    pub version_ok: bool,
    /// The current `notify-keyspace-events` flags when `CONFIG SET` of them is allowed (it
    /// was set to the value it had), else why not; the server adds `Ex` at start.
    pub keyspace_events: std::result::Result<String, RedisError>,
}

/// Connects once (no reconnecting; `config.connect_timeout` and `command_timeout` apply),
/// reads the version, and checks that `notify-keyspace-events` may be set by setting it to
/// its current value. Fails when Redis cannot be reached or refuses `INFO`.
pub async fn diagnose(config: &RedisConfig) -> Result<Diagnosis> {
    let client = Owned(conn::connect(config, Role::Commands).await?);
    let info: String = client
        .info(Some(InfoKind::Server))
        .await
        .map_err(RedisError::command("INFO server"))?;
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    let version_ok = parse_version(&version).is_some_and(|v| v >= MIN_VERSION);
    let keyspace_events = settable_keyspace_events(&client).await;
    Ok(Diagnosis {
        version,
        version_ok,
        keyspace_events,
    })
}

async fn settable_keyspace_events(client: &Client) -> std::result::Result<String, RedisError> {
    let flags = crate::presence::keyspace_event_flags(client).await?;
    client
        .config_set("notify-keyspace-events", flags.as_str())
        .await
        .map_err(RedisError::command("CONFIG SET notify-keyspace-events"))?;
    Ok(flags)
}

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(parse_version("7.0.15"), Some((7, 0)));
        assert!(parse_version("6.2.0").is_some_and(|v| v >= MIN_VERSION));
        assert!(parse_version("6.0.9").is_some_and(|v| v < MIN_VERSION));
        assert_eq!(parse_version(""), None);
    }
}
