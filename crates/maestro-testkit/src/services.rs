//! The one rule for tests that need a service or tool of the machine (Redis, PostgreSQL,
//! postrust, Node.js packages, Chromium): when `CI` is set — to anything, even empty — a
//! missing one fails the test; otherwise the test skips, saying so on the process's stderr,
//! which libtest does not capture (an `eprintln!` of a passing test is never shown).

use std::io::Write;

/// Whether this run must not skip: `CI` is set.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// `what` is missing: under `CI` the test fails; otherwise a loud line says that the test did
/// not run and `hint` says how to provide it, and the caller returns (skips).
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
}
