//! `maestro-load presence`: a fleet of S heartbeating sessions (through `maestro-client`,
//! spread over the instances); after a warm-up, K of them stop heartbeating as if killed.
//! Detection latency = from a killed agent's last heartbeat until `notify:session_failed`
//! for it reaches a `/mobile` subscriber (the server's TTL is 15 s, so expect about that).
//! Lost = a killed agent never reported; duplicated = one reported twice; a live agent
//! reported failed fails the check.
//!
//! ```text
//! maestro-load presence (--url URL… [--token T] | --server-bin PATH) [--sessions 20] [--kill 5] [--json] [--chart out.svg]
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use maestro_client::requests::NewSession;
use maestro_domain::model::SessionStatus;

use crate::common::{Args, Error, Report, Target, ms, new_project};

const BEAT: Duration = Duration::from_secs(1);
/// Longest wait for a killed agent to be reported (the TTL plus a margin).
const DETECT_WITHIN: Duration = Duration::from_secs(40);

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--sessions", "--kill"], &[])?;
    let sessions: usize = a.num("--sessions", 20, 1)?;
    let kill: usize = a.num("--kill", 5, 1)?;
    if kill > sessions {
        return Err("--kill must not exceed --sessions".into());
    }
    let mut target = Target::open(&a).await?;
    let clients = target.clients();
    let project = new_project(&clients[0], "presence load").await?;
    let mut sub = clients[0].subscribe(&project.id).await?;
    let mut fleet = Vec::new();
    for i in 0..sessions {
        let s = clients[0]
            .create_session(&NewSession {
                project_id: project.id.clone(),
                name: Some(format!("agent {i}")),
                status: Some(SessionStatus::Working),
                ..Default::default()
            })
            .await?;
        fleet.push(s.id);
    }
    let mut report = Report::new(
        "presence",
        "detection latency (last heartbeat → session failed)",
    );
    let started = Instant::now();
    let mut beaters = Vec::new();
    let mut last_beat = Vec::new();
    for (i, id) in fleet.iter().enumerate() {
        let (c, id) = (target.client(i), id.clone());
        let alive = Arc::new(AtomicBool::new(true));
        let last = Arc::new(std::sync::Mutex::new(Instant::now()));
        let (a2, l2) = (alive.clone(), last.clone());
        beaters.push((
            alive,
            tokio::spawn(async move {
                let (mut beats, mut errors) = (0usize, 0usize);
                while a2.load(Ordering::SeqCst) {
                    match c.heartbeat(&id).await {
                        Ok(_) => {
                            beats += 1;
                            if let Ok(mut l) = l2.lock() {
                                *l = Instant::now();
                            }
                        }
                        Err(_) => errors += 1,
                    }
                    tokio::time::sleep(BEAT).await;
                }
                (beats, errors)
            }),
        ));
        last_beat.push(last);
    }
    tokio::time::sleep(3 * BEAT).await;
    for (alive, _) in beaters.iter().take(kill) {
        alive.store(false, Ordering::SeqCst);
    }
    // Watch for failures until every killed agent is reported (or the deadline).
    let mut reported: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + DETECT_WITHIN;
    let killed: Vec<&String> = fleet.iter().take(kill).collect();
    while killed.iter().any(|k| !reported.contains_key(*k)) {
        let Ok(Some(e)) = tokio::time::timeout_at(deadline, sub.next()).await else {
            break;
        };
        if e.name != "notify:session_failed" {
            continue;
        }
        let Some(id) = e.data["data"]["sessionId"].as_str() else {
            continue;
        };
        let n = reported.entry(id.to_string()).or_default();
        *n += 1;
        if *n == 1
            && let Some(i) = fleet.iter().position(|f| f == id)
            && let Ok(last) = last_beat[i].lock()
        {
            report.latencies_ms.push(ms(last.elapsed()));
        }
    }
    // A little longer, to catch a second report of the same agent.
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(2), sub.next()).await {
        if e.name == "notify:session_failed"
            && let Some(id) = e.data["data"]["sessionId"].as_str()
        {
            *reported.entry(id.to_string()).or_default() += 1;
        }
    }
    let mut beats = 0;
    for (alive, t) in beaters {
        alive.store(false, Ordering::SeqCst);
        let (b, e) = t.await?;
        beats += b;
        report.errors += e;
    }
    report.elapsed = started.elapsed();
    report.operations = beats;
    report.lost = killed
        .iter()
        .filter(|k| !reported.contains_key(**k))
        .count();
    report.duplicated = reported.values().map(|n| n - 1).sum();
    let live_failed = fleet
        .iter()
        .skip(kill)
        .filter(|s| reported.contains_key(*s))
        .count();
    report
        .checks
        .push(("no live agent reported failed", live_failed == 0));
    report.params.insert("instances", clients.len().into());
    report.params.insert("sessions", sessions.into());
    report.params.insert("killed", kill.into());
    report.extra.insert("heartbeats", beats.into());
    target.stop().await;
    report.finish(&a)
}
