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

use std::time::Instant;

use maestro_client::requests::{ClaimTask, NewSession, NewTask};
use maestro_domain::model::SessionStatus;

use crate::common::{Args, Error, Report, Target, ms, new_project};

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--rounds", "--contenders"], &[])?;
    let rounds: usize = a.num("--rounds", 20, 1)?;
    let contenders: usize = a.num("--contenders", 16, 2)?;
    let mut target = Target::open(&a).await?;
    let clients = target.clients();
    let client = clients[0].clone();
    let project = new_project(&client, "claims load").await?;
    let task = client
        .create_task(&NewTask::new(&project.id, "Contended"))
        .await?;
    let mut sessions = Vec::with_capacity(contenders);
    for i in 0..contenders {
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

    let mut report = Report::new("claims", "claim request latency");
    let (mut bad_rounds, mut fences_ok) = (0usize, true);
    let mut last_fence = 0u64;
    let started = Instant::now();
    for _ in 0..rounds {
        // Contenders spread over the instances, all at once.
        let tries = sessions.iter().enumerate().map(|(i, s)| {
            let (client, task, s) = (target.client(i), task.id.clone(), s.clone());
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
            report.latencies_ms.push(ms(took));
            match r {
                Ok(c) => winners.push((s, c.fencing_token)),
                Err(e) if e.code() == Some("TASK_CLAIMED") => {}
                Err(_) => report.errors += 1,
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
    report.elapsed = started.elapsed();
    report.operations = report.latencies_ms.len();
    report
        .checks
        .push(("exactly one winner every round", bad_rounds == 0));
    report
        .checks
        .push(("fencing tokens always increase", fences_ok));
    report.params.insert("instances", clients.len().into());
    report.params.insert("rounds", rounds.into());
    report.params.insert("contenders", contenders.into());
    report
        .extra
        .insert("requests", report.latencies_ms.len().into());
    report
        .extra
        .insert("rounds_without_exactly_one_winner", bad_rounds.into());
    report
        .extra
        .insert("fencing_tokens_increase", fences_ok.into());
    target.stop().await;
    report.finish(&a)
}
