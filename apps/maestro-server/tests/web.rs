//! The phone web app (`web/`): its Vitest unit tests, then its end-to-end tests in headless
//! Chromium (playwright-core driving Debian's `chromium`) against this crate's real
//! `maestro-server` binary, which serves the app at `/`.
//!
//! Needs Node.js with `npm ci` done in `web/` (the server's build does it) and
//! `/usr/bin/chromium` (`.ci/run` installs it). Without them the tests fail when `CI` is set
//! and are skipped with a loud message otherwise.

use std::path::PathBuf;
use std::process::Command;

fn missing(what: &str) -> bool {
    maestro_testkit::services::missing(
        &format!("web app tests cannot run: {what}"),
        "Install Node.js and Debian's chromium, and run `npm ci --prefix web`.",
    );
    true
}

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// Whether the tools are there (else skipped or failed, see [`missing`]).
fn ready(needs_browser: bool) -> bool {
    if !web_dir().join("dist/index.html").exists() {
        return !missing(
            "web/dist is missing (the build skipped the web app: MAESTRO_SKIP_WEB_BUILD?)",
        );
    }
    if Command::new("node").arg("--version").output().is_err() {
        return !missing("node is not installed");
    }
    if !web_dir().join("node_modules/.bin/vitest").exists() {
        return !missing("web/node_modules is missing (run `npm ci --prefix web`)");
    }
    if needs_browser && !std::path::Path::new("/usr/bin/chromium").exists() {
        return !missing("/usr/bin/chromium is missing (apt-get install chromium)");
    }
    true
}

fn npm(args: &[&str]) {
    let out = Command::new("npm")
        .args(args)
        .current_dir(web_dir())
        .env("SERVER_BIN", env!("CARGO_BIN_EXE_maestro-server"))
        .env_remove("MAESTRO_API_TOKEN")
        .output()
        .expect("run npm");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "npm {} failed", args.join(" "));
}

/// One test, so the unit tests and the browser tests never run at the same time (the e2e
/// run measures budgets and must not compete for the two cores with Vitest).
#[test]
fn web_app_unit_then_end_to_end_tests_in_headless_chromium() {
    if ready(true) {
        npm(&["test"]);
        npm(&["run", "e2e"]);
    }
}
