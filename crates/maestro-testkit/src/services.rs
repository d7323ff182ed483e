//! The one rule for tests that need a service or tool of the machine (Redis, PostgreSQL,
//! postrust, Node.js packages, Chromium): when `CI` is set — to anything, even empty — a
//! missing one fails the test; otherwise the test skips, and says so twice:
//!
//! - at once, on the process's stderr, which libtest does not capture (an `eprintln!` of a
//!   passing test is never shown);
//! - after libtest's `test result:` line, in a block listing every test of the binary that
//!   skipped and why, so that a run's summary never shows a skipped test only as "passed".

use std::io::Write;
use std::sync::{Mutex, Once};

/// Whether this run must not skip: `CI` is set.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// `what` is missing: under `CI` the test fails; otherwise a loud line says that the test did
/// not run and `hint` says how to provide it, the skip is listed after the binary's summary,
/// and the caller returns (skips).
#[track_caller]
pub fn missing(what: &str, hint: &str) {
    if in_ci() {
        panic!("CI is set and {what}: {hint}");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!!!! SKIPPED {test}: {what}. It did NOT run. {hint} \
         (set CI=1 to make this a failure) !!!!!!!!!!\n"
    );
    record(format!("{test}: {what}"));
}

/// The skips of this test binary, printed when it exits.
static SKIPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// What to do when the test binary exits (stop the services it started), before the report.
type ExitHook = Box<dyn FnOnce() + Send>;
static EXIT_HOOKS: Mutex<Vec<ExitHook>> = Mutex::new(Vec::new());
static REPORT_AT_EXIT: Once = Once::new();

fn record(line: String) {
    if let Ok(mut skipped) = SKIPPED.lock() {
        skipped.push(line);
    }
    register_exit_report();
}

/// Runs `hook` when the test binary exits (after libtest's summary).
fn at_exit(hook: impl FnOnce() + Send + 'static) {
    if let Ok(mut hooks) = EXIT_HOOKS.lock() {
        hooks.push(Box::new(hook));
    }
    register_exit_report();
}

fn register_exit_report() {
    REPORT_AT_EXIT.call_once(|| {
        // SAFETY: `atexit` only stores the pointer of a function that lives as long as the
        // program; the function itself never unwinds (see `report`).
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(report);
        }
    });
}

/// Runs after `main` of the test binary has returned or called `exit`, that is after libtest
/// has printed its summary: the exit hooks, then the list of skips. It must not panic (it is
/// called from C): every error is ignored.
extern "C" fn report() {
    let hooks = match EXIT_HOOKS.lock() {
        Ok(mut hooks) => std::mem::take(&mut *hooks),
        Err(_) => Vec::new(),
    };
    for hook in hooks {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook));
    }
    let _ = std::panic::catch_unwind(|| {
        let skipped = match SKIPPED.lock() {
            Ok(skipped) => skipped.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if skipped.is_empty() {
            return;
        }
        let mut text = format!(
            "\nSKIPPED: {} test(s) of this binary counted as passed above but did NOT run \
             (set CI=1 to make them failures):\n",
            skipped.len()
        );
        for line in &skipped {
            text.push_str("  - ");
            text.push_str(line);
            text.push('\n');
        }
        let _ = std::io::stderr().write_all(text.as_bytes());
    });
}

/// The PostgreSQL of the tests, as a `postgres://postgres@host:port` base (trust auth, a
/// superuser named `postgres`), decided once per test binary:
///
/// - `MAESTRO_TEST_PG` when set to a URL;
/// - a private cluster of this binary when it is set to `private`, or when it is not set and
///   nothing listens on `127.0.0.1:5432` but PostgreSQL is installed ([`private_postgres`]);
/// - `postgres://postgres@127.0.0.1:5432` otherwise (the caller's first query then says what
///   is wrong).
pub fn postgres_base() -> Result<String, String> {
    const DEFAULT: &str = "postgres://postgres@127.0.0.1:5432";
    match std::env::var("MAESTRO_TEST_PG") {
        Ok(v) if v == "private" => private_postgres(),
        Ok(v) => Ok(v.trim_end_matches('/').to_owned()),
        Err(_) => {
            let listening = std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
                std::time::Duration::from_millis(500),
            )
            .is_ok();
            if listening || postgres_bin_dir().is_none() {
                Ok(DEFAULT.to_owned())
            } else {
                private_postgres()
            }
        }
    }
}

/// Where `initdb` and `postgres` are: on `PATH`, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// A PostgreSQL cluster of this test binary, started once: `initdb` (trust auth, superuser
/// `postgres`) in a temporary directory, the server on a free port of 127.0.0.1 with its
/// socket in that directory. PostgreSQL refuses to run as root, so under root both run as the
/// `postgres` user (`runuser`). The server runs under `sh`, which stops it and removes the
/// directory when this process exits (its stdin pipe, kept in a static, then closes): nothing
/// is left running or on disk.
pub fn private_postgres() -> Result<String, String> {
    use std::process::{Command, Stdio};
    static PRIVATE: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    let started = PRIVATE.get_or_init(|| {
        let bin = postgres_bin_dir().ok_or("PostgreSQL (initdb, postgres) is not installed")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("maestro-test-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        // The command prefix that runs a PostgreSQL program as a user it accepts.
        let as_owner = if root {
            let chown = Command::new("chown")
                .args(["postgres:"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !chown.success() {
                return Err(
                    "running as root and cannot give the cluster's directory to the \
                            `postgres` user"
                        .to_owned(),
                );
            }
            "runuser -u postgres --"
        } else {
            ""
        };
        let data = dir.join("data");
        let initdb = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{as_owner} \"$BIN/initdb\" -D \"$DATA\" -A trust -U postgres -E UTF8 --no-sync"
            ))
            .env("BIN", &bin)
            .env("DATA", &data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr).trim()
            ));
        }
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{as_owner} \"$BIN/postgres\" -D \"$DATA\" -p \"$PORT\" -k \"$DIR\" \
                 -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 \
                 >\"$DIR/log\" 2>&1 & \
                 cat >/dev/null; \
                 pid=$(head -n 1 \"$DATA/postmaster.pid\" 2>/dev/null); \
                 [ -n \"$pid\" ] && kill -INT \"$pid\"; wait; rm -rf \"$DIR\""
            ))
            .env("BIN", &bin)
            .env("DATA", &data)
            .env("DIR", &dir)
            .env("PORT", port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start postgres: {e}"))?;
        let base = format!("postgres://postgres@127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let ready = Command::new("psql")
                .arg(format!("{base}/postgres"))
                .args(["-At", "-c", "select 1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            if std::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                return Err(format!("the private PostgreSQL did not start: {log}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = writeln!(
            std::io::stderr(),
            "maestro-testkit: started a private PostgreSQL for this test binary at {base}"
        );
        // Stopped before the binary exits, not after: closing the pipe ends `cat`, the
        // wrapper stops the server and removes its directory, and the hook waits for that.
        let mut child = child;
        let stdin = child.stdin.take();
        let child = Mutex::new(child);
        let stdin = Mutex::new(stdin);
        at_exit(move || {
            drop(stdin.lock().ok().and_then(|mut s| s.take()));
            if let Ok(mut child) = child.lock() {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        });
        Ok(base)
    });
    started.clone()
}
