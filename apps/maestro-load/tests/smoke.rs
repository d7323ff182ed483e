//! Short smoke runs of the load scenarios against a real server (in this process, in-memory
//! lock): their verdicts must pass. The big runs are benchmarks, not tests.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use maestro_server::config::{Args, Config};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_scenario_has_one_winner_per_round_and_growing_fences() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let args = [
        "maestro-server".to_string(),
        "--port".into(),
        port.to_string(),
        "--host".into(),
        "127.0.0.1".into(),
        "--data-dir".into(),
        p("data"),
        "--session-dir".into(),
        p("sessions"),
        "--skills-dir".into(),
        p("skills"),
        "--redis-enabled".into(),
        "false".into(),
        "--supabase-enabled".into(),
        "false".into(),
        "--log-level".into(),
        "error".into(),
    ];
    let cfg = Config::from_args(Args::try_parse_from(args).unwrap(), Some(dir.path())).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(maestro_server::run(cfg, BTreeMap::new(), async {
        let _ = rx.await;
    }));
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/health")).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_maestro-load"))
        .args([
            "claims",
            "--url",
            &base,
            "--rounds",
            "8",
            "--contenders",
            "6",
            "--json",
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["verdict"], "pass", "{report}");
    assert_eq!(report["rounds_without_exactly_one_winner"], 0);
    assert_eq!(report["fencing_tokens_increase"], true);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["requests"], 8 * 6);
    let _ = tx.send(());
    let _ = server.await;
}
