//! `maestro-load fanout`: N `/mobile` subscribers of one project (through `maestro-client`,
//! spread over the instances) and M task creations, one after another; for each, the time
//! from sending the request until the LAST subscriber has its `task:created`. Lost = a
//! subscriber that never got an event; duplicated = one that got it twice.
//!
//! ```text
//! maestro-load fanout (--url URL… [--token T] | --server-bin PATH) [--clients 200] [--mutations 30] [--json] [--chart out.svg]
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use maestro_client::requests::NewTask;
use tokio::sync::mpsc;

use crate::common::{Args, Error, Report, Target, ms, new_project, rss_kb};

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--clients", "--mutations"], &[])?;
    let n: usize = a.num("--clients", 200, 1)?;
    let mutations: usize = a.num("--mutations", 30, 1)?;
    let mut target = Target::open(&a).await?;
    let clients = target.clients();
    let project = new_project(&clients[0], "fan-out load").await?;
    let rss_idle = target.server_pid().and_then(rss_kb);
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, String)>();
    let mut readers = Vec::with_capacity(n);
    for i in 0..n {
        let mut sub = target.client(i).subscribe(&project.id).await?;
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(e) = sub.next().await {
                if e.name == "task:created"
                    && let Some(title) = e.data["data"]["title"].as_str()
                    && tx.send((i, title.to_string())).is_err()
                {
                    break;
                }
            }
        }));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(tx);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut report = Report::new("fanout", "time until the last subscriber has the event");
    // Server memory per connection (only for a server this run started).
    if let (Some(idle), Some(connected)) = (rss_idle, target.server_pid().and_then(rss_kb)) {
        let per = connected.saturating_sub(idle) as f64 / n as f64;
        report.extra.insert(
            "server_rss_per_connection_kb",
            ((per * 10.0).round() / 10.0).into(),
        );
    }
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    let mut created = 0usize;
    let started = Instant::now();
    for m in 0..mutations {
        let title = format!("fan-{m}");
        let t0 = Instant::now();
        if clients[m % clients.len()]
            .create_task(&NewTask::new(&project.id, &title))
            .await
            .is_err()
        {
            report.errors += 1;
            continue;
        }
        created += 1;
        let mut got = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while got < n {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((i, t))) => {
                    if !seen.insert((i, t.clone())) {
                        report.duplicated += 1;
                    } else if t == title {
                        got += 1;
                    }
                }
                _ => break,
            }
        }
        if got == n {
            report.latencies_ms.push(ms(t0.elapsed()));
        }
    }
    report.elapsed = started.elapsed();
    report.operations = mutations * n;
    // Late copies count as duplicates too.
    while let Ok(Some((i, t))) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        if !seen.insert((i, t)) {
            report.duplicated += 1;
        }
    }
    for r in readers {
        r.abort();
    }
    // Lost: (subscriber, event) pairs never delivered, even late.
    report.lost = (created * n).saturating_sub(seen.len());
    report.params.insert("instances", clients.len().into());
    report.params.insert("clients", n.into());
    report.params.insert("mutations", mutations.into());
    target.stop().await;
    report.finish(&a)
}
