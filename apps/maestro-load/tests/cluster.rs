//! Every scenario on two instances sharing one private Redis and one PostgreSQL behind
//! postrust (`maestro-load cluster`): the proof, under load, that no per-instance state breaks
//! correctness — subscribers on either instance get every event exactly once, a listing on
//! either instance has every write, a killed agent is reported once (not once per instance),
//! mail sent through one instance wakes a wait on the other, claims have one winner across
//! instances, and a stream resumed on the other instance misses nothing.
//!
//! Needs the `maestro-server` binary next to this package's (built by `cargo test
//! --workspace`), PostgreSQL, `redis-server` and postrust: fails under `CI` when one is
//! missing, skips loudly otherwise.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;

mod support;

fn needs(what: &str, ok: bool) -> bool {
    if !ok {
        maestro_testkit::services::missing(
            &format!("{what} is needed for the two-instance scenarios"),
            "See the README's list of test services.",
        );
    }
    ok
}

fn server_bin() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_BIN_EXE_maestro-load")).with_file_name("maestro-server");
    let found = needs(
        &format!("{} (cargo build -p maestro-server)", bin.display()),
        bin.is_file(),
    );
    let tools = ["redis-server", "psql"].iter().all(|t| {
        needs(
            t,
            std::process::Command::new(t)
                .arg("--version")
                .output()
                .is_ok(),
        )
    });
    (found && tools).then_some(bin)
}

/// `maestro-load cluster --instances 2 -- <scenario args> --json`, asserting a pass.
async fn on_two_instances(scenario: &[&str]) -> Option<Value> {
    let bin = server_bin()?;
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let pg = match maestro_testkit::services::postgres_base() {
        Ok(pg) => pg,
        Err(why) => {
            needs(&format!("PostgreSQL ({why})"), false);
            return None;
        }
    };
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_maestro-load"))
        .args(["cluster", "--instances", "2", "--server-bin"])
        .arg(&bin)
        .args(["--pg", &pg, "--migrations"])
        .arg(&migrations)
        .arg("--")
        .args(scenario)
        .arg("--json")
        .output()
        .await
        .unwrap();
    let report = support::passed(scenario, &out);
    assert_eq!(report["instances"], 2, "{report}");
    Some(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_reaches_subscribers_of_both_instances_once() {
    on_two_instances(&["fanout", "--clients", "8", "--mutations", "10"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_writes_on_either_instance_are_listed_by_both() {
    on_two_instances(&["rest", "--workers", "4", "--requests", "200"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_sent_through_one_instance_wakes_waits_on_the_other() {
    on_two_instances(&["mail", "--pairs", "4", "--mails", "4"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_have_one_winner_across_instances() {
    on_two_instances(&["claims", "--rounds", "10", "--contenders", "6"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_resumed_on_the_other_instance_miss_nothing() {
    if let Some(r) = on_two_instances(&[
        "reconnect",
        "--clients",
        "4",
        "--events",
        "60",
        "--drops",
        "2",
    ])
    .await
    {
        assert_eq!(r["resumes"], 8, "{r}");
    }
}

/// A killed agent's lapse is seen by both instances' watchers but reported once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_is_reported_once_not_once_per_instance() {
    if let Some(r) = on_two_instances(&["presence", "--sessions", "6", "--kill", "2"]).await {
        assert_eq!(r["samples"], 2, "{r}");
        assert_eq!(r["checks"]["no live agent reported failed"], true);
    }
}
