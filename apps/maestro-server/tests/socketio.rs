//! Socket.IO end to end: runs `tests/socketio/socketio.test.mjs` (Node's test runner with the
//! official `socket.io-client`) against this crate's real `maestro-server` binary.
//!
//! Needs `node` and `npm ci` in `tests/socketio` (`.ci/run` does it). Without them the test
//! fails when `CI` is set and is skipped with a loud message otherwise.

use std::path::PathBuf;
use std::process::Command;

fn missing(what: &str) {
    maestro_testkit::services::missing(
        &format!("Socket.IO end-to-end test cannot run: {what}"),
        "Run `npm ci --prefix tests/socketio`.",
    );
}

#[test]
fn socket_io_namespaces_with_the_javascript_client() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("tests/socketio");
    if Command::new("node").arg("--version").output().is_err() {
        return missing("node is not installed");
    }
    if !dir.join("node_modules/socket.io-client").is_dir() {
        return missing("tests/socketio/node_modules is missing");
    }
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "socketio.test.mjs"])
        .current_dir(&dir)
        .env("SERVER_BIN", env!("CARGO_BIN_EXE_maestro-server"))
        .env_remove("MAESTRO_API_TOKEN")
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "node Socket.IO tests failed");
}
