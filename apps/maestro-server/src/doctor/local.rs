//! Checks of what is on this machine or reached directly: `data_dir`, `redis`,
//! `redis_keyspace_events`, `spawn_cli`.

use std::path::{Path, PathBuf};

use super::{Check, TIMEOUT};
use crate::config::{Args, MailBackend, Sections, expand_home};
use crate::write_probe;

/// The data directory: exists or can be created, writable, not locked by another server
/// (when the FileSystem store would open it).
pub(super) fn data_dir(args: &Args, home: Option<&Path>, s: &Sections) -> Check {
    const NAME: &str = "data_dir";
    let dir = expand_home(&args.data_dir, home);
    let shown = dir.display();
    let uses_store = match &s.backends {
        Ok(b) => {
            !*s.supabase_enabled.as_ref().unwrap_or(&false) || b.mail_backend == MailBackend::Fs
        }
        Err(_) => true,
    };
    if !dir.exists() {
        let parent = existing_ancestor(&dir);
        return match parent.as_deref().map(write_probe) {
            Some(Ok(())) => Check::ok(NAME, format!("{shown} will be created")),
            Some(Err(e)) => Check::fail(
                NAME,
                format!("{shown} does not exist and cannot be created: {e}"),
                "create it for the server's user, or set DATA_DIR",
            ),
            None => Check::fail(
                NAME,
                format!("{shown} has no existing parent"),
                "set DATA_DIR to an absolute path",
            ),
        };
    }
    if let Err(e) = write_probe(&dir) {
        return Check::fail(
            NAME,
            format!("cannot write in {shown}: {e}"),
            "give the server's user write access to it, or set DATA_DIR",
        );
    }
    if !uses_store {
        return Check::ok(
            NAME,
            format!("{shown} is writable (Supabase keeps the data; server-url and modals go here)"),
        );
    }
    match maestro_fs::lock_holder(&dir) {
        Ok(maestro_fs::LockHolder::Free) => {
            Check::ok(NAME, format!("{shown} is writable and free"))
        }
        Ok(maestro_fs::LockHolder::Held { pid }) => Check::fail(
            NAME,
            format!(
                "{shown} is in use by another maestro-server{}",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ),
            "stop that server, or give this one its own DATA_DIR",
        ),
        Err(e) => Check::fail(
            NAME,
            format!("cannot check the lock of {shown}: {e}"),
            "give the server's user access to DATA_DIR",
        ),
    }
}

fn existing_ancestor(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .skip(1)
        .find(|p| !p.as_os_str().is_empty() && p.is_dir())
        .map(Path::to_path_buf)
}

/// `redis` (reachable, version) and `redis_keyspace_events`.
pub(super) async fn redis(s: &Sections) -> [Check; 2] {
    let b = match &s.backends {
        Ok(b) if b.redis_enabled => b,
        Ok(_) => {
            return [
                Check::skip(
                    "redis",
                    "REDIS_ENABLED=false: in-memory events and presence",
                ),
                Check::skip("redis_keyspace_events", "REDIS_ENABLED=false"),
            ];
        }
        Err(_) => {
            return [
                Check::skip("redis", "the backend settings are invalid (see config)"),
                Check::skip("redis_keyspace_events", "the backend settings are invalid"),
            ];
        }
    };
    let mut config = maestro_redis::RedisConfig::new(&b.redis_url, &b.redis_key_prefix);
    config.connect_timeout = TIMEOUT;
    config.command_timeout = TIMEOUT;
    let shown = maestro_redis::redact(&b.redis_url);
    let diagnosis =
        match tokio::time::timeout(TIMEOUT * 2, maestro_redis::diagnose::diagnose(&config)).await {
            Ok(Ok(d)) => d,
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {}s", (TIMEOUT * 2).as_secs()),
                };
                return [
                    Check::fail(
                        "redis",
                        format!("cannot reach Redis at {shown}: {why}"),
                        "start Redis, correct REDIS_URL (and the network to it), or set \
                         REDIS_ENABLED=false",
                    ),
                    Check::skip("redis_keyspace_events", "needs a reachable Redis"),
                ];
            }
        };
    let (major, minor) = maestro_redis::diagnose::MIN_VERSION;
    let redis = if diagnosis.version_ok {
        Check::ok(
            "redis",
            format!(
                "Redis {} at {shown}, key prefix {}",
                diagnosis.version, b.redis_key_prefix
            ),
        )
    } else {
        Check::fail(
            "redis",
            format!(
                "Redis at {shown} is version '{}'; {major}.{minor} or later is needed \
                 (XTRIM MINID)",
                diagnosis.version
            ),
            format!("upgrade Redis (or Valkey) to {major}.{minor} or later"),
        )
    };
    let keyspace = match diagnosis.keyspace_events {
        Ok(flags) => Check::ok(
            "redis_keyspace_events",
            format!(
                "notify-keyspace-events can be set (now '{flags}'; the server adds 'Ex' at \
                 start, so a lapsed agent is seen at once)"
            ),
        ),
        Err(e) => Check::warn(
            "redis_keyspace_events",
            format!(
                "CONFIG SET notify-keyspace-events is refused ({e}): lapsed agents are found by \
                 the periodic sweep only, up to a second late"
            ),
            "enable notify-keyspace-events 'Ex' in the Redis provider's settings, or allow \
             CONFIG SET",
        ),
    };
    [redis, keyspace]
}

/// The `maestro` CLI that spawn runs to write manifests.
pub(super) fn spawn_cli(cli: &Path) -> Check {
    const NAME: &str = "spawn_cli";
    let found = maestro_local::find_program(cli, std::env::var_os("PATH").as_deref());
    match found {
        Some(p) => Check::ok(
            NAME,
            format!("{} (spawn writes manifests with it)", p.display()),
        ),
        None => Check::warn(
            NAME,
            format!(
                "MAESTRO_CLI_PATH '{}' is not an executable on PATH: spawning sessions fails \
                 (everything else works)",
                cli.display()
            ),
            "install the Maestro CLI (maestro-cli), or set MAESTRO_CLI_PATH to its bin/maestro.js",
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn the_spawn_cli_is_looked_up_on_path_or_as_given() {
        assert_eq!(spawn_cli(Path::new("sh")).status, Status::Ok);
        assert_eq!(spawn_cli(Path::new("/bin/sh")).status, Status::Ok);
        assert_eq!(
            spawn_cli(Path::new("maestro-cli-that-is-not-installed")).status,
            Status::Warn
        );
        // A file that is not executable.
        let dir = std::env::temp_dir().join(format!("maestro-doctor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("maestro");
        std::fs::write(&plain, b"#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(spawn_cli(&plain).status, Status::Warn);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
