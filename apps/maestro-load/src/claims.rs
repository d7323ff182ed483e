//! `maestro-load claims`: contention on one task's fenced claim, through `maestro-client`.
//!
//! Each round, K sessions claim the same task at once: exactly one must win (the others get
//! `409 TASK_CLAIMED`), and the winner's fencing token must be greater than every earlier
//! round's. The winner then releases it for the next round. Prints claim latency p50/p95/p99,
//! throughput, errors and the verdict (`--json` for one JSON object); exits 1 on a failed
//! verdict.
//!
//! ```text
//! maestro-load claims (--url URL [--token T] | --server-bin PATH) [--rounds 20] [--contenders 16] [--json]
//! ```

use std::time::{Duration, Instant};

use maestro_client::Client;
use maestro_client::requests::{ClaimTask, NewSession, NewTask, ProjectInput};
use maestro_domain::model::SessionStatus;
use serde_json::json;

use crate::{Error, percentile, spawn_server};

struct Options {
    url: Option<String>,
    token: Option<String>,
    server_bin: Option<String>,
    rounds: usize,
    contenders: usize,
    json: bool,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, Error> {
    let mut o = Options {
        url: None,
        token: None,
        server_bin: None,
        rounds: 20,
        contenders: 16,
        json: false,
    };
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => o.url = Some(value()?),
            "--token" => o.token = Some(value()?),
            "--server-bin" => o.server_bin = Some(value()?),
            "--rounds" => o.rounds = value()?.parse()?,
            "--contenders" => o.contenders = value()?.parse()?,
            "--json" => o.json = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if o.url.is_none() == o.server_bin.is_none() {
        return Err("pass exactly one of --url or --server-bin".into());
    }
    if o.rounds == 0 || o.contenders < 2 {
        return Err("--rounds must be ≥ 1 and --contenders ≥ 2".into());
    }
    Ok(o)
}

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let o = parse(args)?;
    let mut server = None;
    let mut data_dir = None;
    let base = if let Some(url) = &o.url {
        url.clone()
    } else {
        let bin = o.server_bin.as_deref().unwrap_or("maestro-server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("maestro-load-claims-{}", std::process::id()));
        server = Some(spawn_server(bin, port, &dir)?);
        data_dir = Some(dir);
        format!("http://127.0.0.1:{port}")
    };
    let client = Client::builder(&base)
        .maybe_token(o.token.clone())
        .build()?;
    let started = Instant::now();
    while client.health().await.is_err() {
        if started.elapsed() > Duration::from_secs(15) {
            return Err("the server did not answer /health".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let project = client
        .create_project(&ProjectInput {
            name: Some("claims load".into()),
            working_dir: Some("/tmp".into()),
            description: None,
        })
        .await?;
    let task = client
        .create_task(&NewTask::new(&project.id, "Contended"))
        .await?;
    let mut sessions = Vec::with_capacity(o.contenders);
    for i in 0..o.contenders {
        sessions.push(
            client
                .create_session(&NewSession {
                    project_id: project.id.clone(),
                    task_ids: vec![task.id.clone()],
                    name: Some(format!("contender {i}")),
                    status: Some(SessionStatus::Working),
                    ..Default::default()
                })
                .await?
                .id,
        );
    }

    let mut latencies = Vec::with_capacity(o.rounds * o.contenders);
    let (mut errors, mut bad_rounds, mut fences_ok) = (0usize, 0usize, true);
    let mut last_fence = 0u64;
    let load_started = Instant::now();
    for _ in 0..o.rounds {
        let tries = sessions.iter().map(|s| {
            let (client, task, s) = (client.clone(), task.id.clone(), s.clone());
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = client
                    .claim_task(
                        &task,
                        &ClaimTask {
                            session_id: Some(s.clone()),
                            ttl_ms: Some(60_000),
                        },
                    )
                    .await;
                (s, r, t0.elapsed())
            })
        });
        let mut winners = Vec::new();
        for t in tries {
            let (s, r, took) = t.await?;
            latencies.push(took.as_secs_f64() * 1000.0);
            match r {
                Ok(c) => winners.push((s, c.fencing_token)),
                Err(e) if e.code() == Some("TASK_CLAIMED") => {}
                Err(_) => errors += 1,
            }
        }
        if winners.len() != 1 {
            bad_rounds += 1;
        }
        for (s, fence) in &winners {
            if *fence <= last_fence {
                fences_ok = false;
            }
            last_fence = last_fence.max(*fence);
            client.release_task_claim(&task.id, Some(s)).await?;
        }
    }
    let elapsed = load_started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pass = bad_rounds == 0 && fences_ok && errors == 0;
    let round1 = |v: f64| (v * 10.0).round() / 10.0;
    let report = json!({
        "scenario": "claims",
        "rounds": o.rounds,
        "contenders": o.contenders,
        "requests": latencies.len(),
        "errors": errors,
        "rounds_without_exactly_one_winner": bad_rounds,
        "fencing_tokens_increase": fences_ok,
        "p50_ms": round1(percentile(&latencies, 50.0)),
        "p95_ms": round1(percentile(&latencies, 95.0)),
        "p99_ms": round1(percentile(&latencies, 99.0)),
        "throughput_per_s": round1(latencies.len() as f64 / elapsed.max(1e-9)),
        "verdict": if pass { "pass" } else { "fail" },
    });
    if o.json {
        println!("{report}");
    } else {
        println!(
            "claims: {} rounds × {} contenders, {} requests, {} errors\n  \
             claim latency p50 {} ms, p95 {} ms, p99 {} ms; {} requests/s\n  \
             exactly one winner every round: {}; fencing tokens always increase: {}\n  \
             verdict: {}",
            o.rounds,
            o.contenders,
            report["requests"],
            errors,
            report["p50_ms"],
            report["p95_ms"],
            report["p99_ms"],
            report["throughput_per_s"],
            bad_rounds == 0,
            fences_ok,
            report["verdict"].as_str().unwrap_or("fail"),
        );
    }
    if let Some(mut s) = server {
        let _ = s.kill().await;
    }
    if let Some(dir) = data_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(pass)
}
