//! `maestro-load reconnect`: C `/mobile` subscribers follow a project while a writer creates
//! E tasks; each subscriber drops its connection D times along the way and resumes after the
//! last event id it saw (`auth.offset`), on the next instance round-robin. Every subscriber
//! must end with every task exactly once: missed events replayed, none lost, none applied
//! twice (a repeat of an id already seen is dropped, as clients do; it is counted, not a
//! duplicate). Latency = from starting to reconnect until `state:resumed`.
//!
//! ```text
//! maestro-load reconnect (--url URL… [--token T] | --server-bin PATH) [--clients 10] [--events 200] [--drops 3] [--json] [--chart out.svg]
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use maestro_client::requests::NewTask;
use maestro_client::{Client, RESUMED, RESYNC_REQUIRED};

use crate::common::{Args, Error, Report, Target, ms, new_project};

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    tasks: HashSet<String>,
    /// A task created once but delivered under two different event ids.
    duplicated: usize,
    repeats_dropped: usize,
    resumes_ms: Vec<f64>,
    resyncs: usize,
    errors: usize,
}

async fn follow(
    clients: Vec<Client>,
    me: usize,
    project: String,
    events: usize,
    drops: usize,
) -> Seen {
    let mut seen = Seen::default();
    let mut ids = HashSet::new();
    let mut last: Option<String> = None;
    let every = (events / (drops + 1)).max(1);
    let mut instance = me;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut dropped = 0;
    'connections: while seen.tasks.len() < events && Instant::now() < deadline {
        let t0 = Instant::now();
        let c = &clients[instance % clients.len()];
        let Ok(mut sub) = c.subscribe_from(&project, last.as_deref()).await else {
            seen.errors += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut since_connect = 0;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), sub.next()).await;
            let Ok(Some(e)) = next else {
                continue 'connections;
            };
            if e.name == RESUMED {
                seen.resumes_ms.push(ms(t0.elapsed()));
                continue;
            }
            if e.name == RESYNC_REQUIRED {
                seen.resyncs += 1;
                continue;
            }
            if let Some(id) = &e.id {
                if !ids.insert(id.clone()) {
                    seen.repeats_dropped += 1;
                    continue;
                }
                last = Some(id.clone());
            }
            if e.name != "task:created" {
                continue;
            }
            let Some(task) = e.data["data"]["id"].as_str() else {
                continue;
            };
            if !seen.tasks.insert(task.to_string()) {
                seen.duplicated += 1;
            }
            since_connect += 1;
            if seen.tasks.len() >= events {
                break 'connections;
            }
            if dropped < drops && since_connect >= every {
                // Drop the connection; the writer goes on meanwhile.
                dropped += 1;
                drop(sub);
                tokio::time::sleep(Duration::from_millis(150)).await;
                instance += 1;
                continue 'connections;
            }
        }
    }
    seen
}

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--clients", "--events", "--drops"], &[])?;
    let n: usize = a.num("--clients", 10, 1)?;
    let events: usize = a.num("--events", 200, 1)?;
    let drops: usize = a.num("--drops", 3, 0)?;
    let mut target = Target::open(&a).await?;
    let clients = target.clients();
    let project = new_project(&clients[0], "reconnect load").await?;
    let mut followers = Vec::new();
    for i in 0..n {
        followers.push(tokio::spawn(follow(
            clients.clone(),
            i,
            project.id.clone(),
            events,
            drops,
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let mut report = Report::new("reconnect", "resume latency (reconnect → state:resumed)");
    for e in 0..events {
        let c = &clients[e % clients.len()];
        if c.create_task(&NewTask::new(&project.id, format!("r{e}")))
            .await
            .is_err()
        {
            report.errors += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (mut repeats, mut resyncs, mut resumes) = (0, 0, 0);
    for f in followers {
        let s = f.await?;
        report.lost += events.saturating_sub(s.tasks.len());
        report.duplicated += s.duplicated;
        report.errors += s.errors;
        repeats += s.repeats_dropped;
        resyncs += s.resyncs;
        resumes += s.resumes_ms.len();
        report.latencies_ms.extend(s.resumes_ms);
    }
    report.elapsed = started.elapsed();
    report.operations = events;
    report
        .checks
        .push(("every drop resumed without a resync", resyncs == 0));
    report
        .checks
        .push(("every drop was resumed", resumes == n * drops));
    report.params.insert("instances", clients.len().into());
    report.params.insert("clients", n.into());
    report.params.insert("events", events.into());
    report.params.insert("drops_per_client", drops.into());
    report.extra.insert("repeats_dropped", repeats.into());
    report.extra.insert("resumes", resumes.into());
    target.stop().await;
    report.finish(&a)
}
