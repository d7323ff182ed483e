//! `maestro-load`: load scenarios for Maestro Server, on `maestro-client`. Each drives one
//! server (`--server-bin PATH`, started here) or running instances (`--url`, repeated for
//! several behind no balancer: workers are spread over them round-robin), prints p50 / p95 /
//! p99, throughput, errors and lost / duplicated counts with a verdict (`--json` for one JSON
//! object), can write an SVG latency chart (`--chart out.svg`), and exits 1 when the verdict
//! fails.
//!
//! ```text
//! maestro-load rest       [--workers 8] [--requests 2000]      mixed REST reads and writes
//! maestro-load fanout     [--clients 200] [--mutations 30]     /mobile fan-out to N subscribers
//! maestro-load mail       [--pairs 20] [--mails 10]            long-poll wake-ups
//! maestro-load claims     [--rounds 20] [--contenders 16]      task-claim contention
//! maestro-load presence   [--sessions 20] [--kill 5]           killed-agent detection
//! maestro-load reconnect  [--clients 10] [--events 200] [--drops 3]   resumed streams
//! maestro-load baseline   [--redis URL] [--requests 2000]      bare Redis and HTTP round trips
//! maestro-load fleet      [--agents 1000] [--projects 4] [--rounds 3]   keyed agents at once
//!   common: (--url URL… [--token T] | --server-bin PATH) [--json] [--chart out.svg]
//! maestro-load cluster --instances N --server-bin PATH [--pg URL] -- <scenario> [args]
//!   (N instances on one private Redis and PostgreSQL/postrust, then the scenario on all)
//! maestro-load <path/to/maestro-server> [clients] [mutations]   (= fanout --server-bin …)
//! ```

mod baseline;
mod chart;
mod claims;
mod cluster;
mod common;
mod fanout;
mod fleet;
mod mail;
mod presence;
mod reconnect;
mod rest;

use common::Error;

const USAGE: &str = "usage: maestro-load rest|fanout|mail|claims|presence|reconnect|baseline|fleet \
                     (--url URL… [--token T] | --server-bin PATH) [--json] [--chart out.svg] …\n\
                     \x20      maestro-load cluster --instances N --server-bin PATH [--pg URL] -- <scenario> …\n\
                     \x20      maestro-load <path/to/maestro-server> [clients] [mutations]";

/// Runs scenario `name`; `Ok(false)` when its verdict failed.
async fn run_scenario(
    name: &str,
    args: impl Iterator<Item = String> + Send + 'static,
) -> Result<bool, Error> {
    match name {
        "rest" => rest::run(args).await,
        "fanout" => fanout::run(args).await,
        "mail" => mail::run(args).await,
        "claims" => claims::run(args).await,
        "presence" => presence::run(args).await,
        "reconnect" => reconnect::run(args).await,
        "baseline" => baseline::run(args).await,
        "fleet" => fleet::run(args).await,
        other => Err(format!("unknown scenario {other}").into()),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).collect::<Vec<_>>().into_iter();
    let first = args.next();
    let outcome = match first.as_deref() {
        Some("cluster") => cluster::run(args).await,
        Some(
            name @ ("rest" | "fanout" | "mail" | "claims" | "presence" | "reconnect" | "baseline"
            | "fleet"),
        ) => run_scenario(name, args).await,
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return;
        }
        Some(bin) => legacy_fanout(bin, args).await,
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("maestro-load: {e}\n{USAGE}");
            std::process::exit(2);
        }
    }
}

/// The issue-5 invocation: `maestro-load <server binary> [clients] [mutations]`.
async fn legacy_fanout(bin: &str, mut args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let mut v = vec!["--server-bin".to_string(), bin.to_string()];
    if let Some(c) = args.next() {
        v.extend(["--clients".into(), c]);
    }
    if let Some(m) = args.next() {
        v.extend(["--mutations".into(), m]);
    }
    v.push("--json".into());
    fanout::run(v.into_iter()).await
}
