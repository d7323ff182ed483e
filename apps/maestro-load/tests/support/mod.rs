//! What the load tool's tests share: reading a scenario's `--json` report.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;

/// The last JSON line of a `maestro-load … --json` run, after checking that it exited 0 and
/// that its verdict passed with no error, loss or duplicate.
pub fn passed(what: &[&str], out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(report["verdict"], "pass", "{report}");
    for key in ["errors", "lost", "duplicated"] {
        assert_eq!(report[key], 0, "{key}: {report}");
    }
    report
}
