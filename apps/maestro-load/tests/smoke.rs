//! Short smoke runs of every load scenario against a real server (in this process, in-memory
//! bus, presence and lock; FileSystem storage): their verdicts must pass, their JSON must
//! carry the figures, and `--chart` must write an SVG. The big runs are benchmarks, not tests.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use maestro_server::config::{Args, Config};
use serde_json::Value;

mod support;

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), maestro_server::StartError>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

async fn server() -> Server {
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
    let task = tokio::spawn(maestro_server::run(cfg, BTreeMap::new(), async {
        let _ = rx.await;
    }));
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}/health")).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        base,
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

/// Runs `maestro-load <args> --json` and returns its report, asserting exit 0 and a pass.
async fn scenario(args: &[&str]) -> Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_maestro-load"))
        .args(args)
        .arg("--json")
        .output()
        .await
        .unwrap();
    let report = support::passed(args, &out);
    for key in ["p50_ms", "p95_ms", "p99_ms", "throughput_per_s"] {
        assert!(report[key].is_number(), "{key}: {report}");
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_scenario_has_one_winner_per_round_and_growing_fences() {
    let s = server().await;
    let r = scenario(&[
        "claims",
        "--url",
        &s.base,
        "--rounds",
        "8",
        "--contenders",
        "6",
    ])
    .await;
    assert_eq!(r["rounds_without_exactly_one_winner"], 0);
    assert_eq!(r["fencing_tokens_increase"], true);
    assert_eq!(r["requests"], 8 * 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_scenario_loses_no_write_and_charts_its_latencies() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("rest.svg");
    let chart_arg = chart.display().to_string();
    let r = scenario(&[
        "rest",
        "--url",
        &s.base,
        "--workers",
        "3",
        "--requests",
        "90",
        "--chart",
        &chart_arg,
    ])
    .await;
    assert_eq!(r["operations"], 90);
    assert!(r["tasks_created"].as_u64().unwrap() > 0, "{r}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("p99"),
        "an SVG chart with its marks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_scenario_reaches_every_subscriber_once() {
    let s = server().await;
    let r = scenario(&[
        "fanout",
        "--url",
        &s.base,
        "--clients",
        "6",
        "--mutations",
        "5",
    ])
    .await;
    assert_eq!(r["samples"], 5, "{r}");
    assert_eq!(r["operations"], 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_scenario_wakes_every_waiter_once() {
    let s = server().await;
    let r = scenario(&["mail", "--url", &s.base, "--pairs", "3", "--mails", "4"]).await;
    assert_eq!(r["samples"], 12, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_scenario_replays_what_each_subscriber_missed() {
    let s = server().await;
    let r = scenario(&[
        "reconnect",
        "--url",
        &s.base,
        "--clients",
        "3",
        "--events",
        "40",
        "--drops",
        "2",
    ])
    .await;
    assert_eq!(r["resumes"], 6, "{r}");
    assert_eq!(r["checks"]["every drop resumed without a resync"], true);
}

/// The server's heartbeat TTL is 15 s, so this run takes about 20 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_scenario_reports_each_killed_agent_once() {
    let s = server().await;
    let r = scenario(&[
        "presence",
        "--url",
        &s.base,
        "--sessions",
        "4",
        "--kill",
        "2",
    ])
    .await;
    assert_eq!(r["samples"], 2, "{r}");
    assert_eq!(r["checks"]["no live agent reported failed"], true);
    assert!(
        r["p50_ms"].as_f64().unwrap() >= 10_000.0,
        "not before the TTL: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_measures_redis_and_a_hello_world() {
    let redis =
        std::env::var("MAESTRO_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let addr = redis.trim_start_matches("redis://").to_string();
    if std::net::TcpStream::connect(&addr).is_err() {
        maestro_testkit::services::missing(
            &format!("Redis is not reachable at {addr}"),
            "Start Redis on 127.0.0.1:6379.",
        );
        return;
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_maestro-load"))
        .args(["baseline", "--redis", &redis, "--requests", "200", "--json"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = reports
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["baseline-redis", "baseline-http"]);
    for r in &reports {
        assert_eq!(r["samples"], 200, "{r}");
        assert_eq!(r["verdict"], "pass", "{r}");
    }
}

#[tokio::test]
async fn bad_arguments_are_usage_errors() {
    for args in [
        vec!["claims", "--contenders", "1", "--url", "http://127.0.0.1:9"],
        vec!["rest", "--frobnicate", "1"],
        vec!["fanout"],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_maestro-load"))
            .args(&args)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage"),
            "{args:?}"
        );
    }
}
