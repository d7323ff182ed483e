//! `maestro-load rest`: mixed REST traffic through `maestro-client` — 60 % task reads, 10 %
//! listings, 20 % creates, 10 % updates — from W workers spread over the instances. Then
//! every instance must list every created task exactly once (lost = 0, duplicated = 0).
//!
//! ```text
//! maestro-load rest (--url URL… [--token T] | --server-bin PATH) [--workers 8] [--requests 2000] [--json] [--chart out.svg]
//! ```

use std::collections::HashMap;
use std::time::Instant;

use maestro_client::requests::{NewTask, TaskPatch, TaskQuery};

use crate::common::{Args, Dice, Error, Report, Target, ms, new_project};

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--workers", "--requests"], &[])?;
    let workers: usize = a.num("--workers", 8, 1)?;
    let requests: usize = a.num("--requests", 2000, 1)?;
    let mut target = Target::open(&a).await?;
    let clients = target.clients();
    let project = new_project(&clients[0], "rest load").await?;
    let mut seed = Vec::new();
    for i in 0..20 {
        seed.push(
            clients[0]
                .create_task(&NewTask::new(&project.id, format!("seed {i}")))
                .await?
                .id,
        );
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let c = target.client(w);
        let (pid, seed) = (project.id.clone(), seed.clone());
        let share = requests / workers + usize::from(w < requests % workers);
        tasks.push(tokio::spawn(async move {
            let mut dice = Dice::new(w as u64 + 1);
            let (mut latencies, mut errors, mut created) = (Vec::new(), 0usize, Vec::new());
            for i in 0..share {
                let t0 = Instant::now();
                let pick = seed[dice.below(seed.len())].clone();
                let ok = match dice.below(10) {
                    0..=5 => c.get_task(&pick).await.is_ok(),
                    6 => c
                        .list_tasks(&TaskQuery {
                            project_id: Some(pid.clone()),
                            ..Default::default()
                        })
                        .await
                        .is_ok(),
                    7 | 8 => match c
                        .create_task(&NewTask::new(&pid, format!("w{w}-{i}")))
                        .await
                    {
                        Ok(t) => {
                            created.push(t.id);
                            true
                        }
                        Err(_) => false,
                    },
                    _ => c
                        .update_task(
                            &pick,
                            &TaskPatch {
                                description: Some(format!("touched by w{w} #{i}")),
                                ..Default::default()
                            },
                        )
                        .await
                        .is_ok(),
                };
                latencies.push(ms(t0.elapsed()));
                errors += usize::from(!ok);
            }
            (latencies, errors, created)
        }));
    }
    let mut report = Report::new("rest", "request latency");
    let mut created = Vec::new();
    for t in tasks {
        let (l, e, c) = t.await?;
        report.latencies_ms.extend(l);
        report.errors += e;
        created.extend(c);
    }
    report.elapsed = started.elapsed();
    report.operations = report.latencies_ms.len();
    // Every instance lists every created task once.
    for c in &clients {
        let listed = c
            .list_tasks(&TaskQuery {
                project_id: Some(project.id.clone()),
                ..Default::default()
            })
            .await?;
        let mut count: HashMap<&str, usize> = HashMap::new();
        for t in &listed {
            *count.entry(t.id.as_str()).or_default() += 1;
        }
        report.lost += created
            .iter()
            .filter(|id| !count.contains_key(id.as_str()))
            .count();
        report.duplicated += count.values().filter(|n| **n > 1).count();
    }
    report.params.insert("instances", clients.len().into());
    report.params.insert("workers", workers.into());
    report.params.insert("requests", requests.into());
    report.extra.insert("tasks_created", created.len().into());
    target.stop().await;
    report.finish(&a)
}
