//! Presence across two "processes": a lapse is reported once, by one of them. How soon after
//! the TTL it is reported is a figure of `docs/BENCHMARKS.md`, not a bound of these tests:
//! each wait here is only a guard against a hang (`maestro_testkit::poll::PATIENCE`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use maestro_testkit::fixtures::{heartbeat, unique_id};
use maestro_testkit::poll::PATIENCE;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_heartbeats_are_reported_exactly_once() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let (pa, pb) = (a.presence(), b.presence());
    let mut on_a = pa.expirations();
    let mut on_b = pb.expirations();
    let (project, session, steady) = (unique_id("proj"), unique_id("sess"), unique_id("sess"));
    // Heartbeats every 300 ms against a 3 s TTL: a stalled machine does not let it lapse early.
    let ttl = Duration::from_secs(3);
    // Heartbeats alternate between the processes, then stop.
    let mut last = Instant::now();
    for i in 0..6 {
        let p = if i % 2 == 0 { &pa } else { &pb };
        p.heartbeat(&heartbeat(&session, &project), ttl)
            .await
            .unwrap();
        p.heartbeat(&heartbeat(&steady, &project), Duration::from_secs(120))
            .await
            .unwrap();
        last = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Every report until the first of `session`, then 2 s more (many sweeps of 250 ms) in
    // which a second report would show.
    let mut reports = Vec::new();
    let mut until = Instant::now() + PATIENCE;
    loop {
        tokio::select! {
            Some(id) = on_a.next() => reports.push(("a", id, Instant::now())),
            Some(id) = on_b.next() => reports.push(("b", id, Instant::now())),
            () = tokio::time::sleep_until(until) => break,
        }
        if reports.iter().filter(|(_, id, _)| *id == session).count() == 1
            && until > Instant::now() + Duration::from_secs(2)
        {
            until = Instant::now() + Duration::from_secs(2);
        }
    }
    let mine: Vec<_> = reports.iter().filter(|(_, id, _)| *id == session).collect();
    assert_eq!(
        mine.len(),
        1,
        "exactly one report across both processes: {reports:?}"
    );
    let (_, _, at) = mine[0];
    assert!(
        *at >= last + ttl - Duration::from_millis(50),
        "reported before the TTL lapsed"
    );
    eprintln!("reported {:?} after the TTL", at.duration_since(last + ttl));
    assert!(!reports.iter().any(|(_, id, _)| *id == steady));
    assert!(!pa.is_alive(&session).await.unwrap());
    assert!(pb.is_alive(&steady).await.unwrap());
    pa.remove(&steady).await.unwrap();
}

/// With sweeps far apart (an hour), only keyspace `expired` events can report a lapse. On a
/// private Redis: Redis reclaims an expired key (and only then notifies) by sampling keys with
/// a TTL, so on a shared Redis holding thousands of other expiring keys the event may come
/// seconds late (which is why the sweep exists).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyspace_events_report_a_lapse_without_waiting_for_a_sweep() {
    let Some(redis) = common::PrivateRedis::start().await else {
        return;
    };
    let mut config = common::config(&redis.url(), &common::unique_prefix());
    config.presence_sweep_interval = Duration::from_secs(3600);
    let backend = common::backend_with(config).await;
    let presence = backend.presence();
    let mut expirations = presence.expirations();
    let session = unique_id("sess");
    presence
        .heartbeat(
            &heartbeat(&session, &unique_id("proj")),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
    let got = tokio::time::timeout(PATIENCE, expirations.next())
        .await
        .expect("no keyspace expiry event");
    assert_eq!(got, Some(session));
    drop(redis);
}

/// Where `CONFIG` is refused (managed Redis), the sweep alone still reports lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_config_access_the_sweep_reports_lapses() {
    let Some(redis) = common::PrivateRedis::start_with(&["--rename-command", "CONFIG", ""]).await
    else {
        return;
    };
    let backend =
        common::backend_with(common::config(&redis.url(), &common::unique_prefix())).await;
    let presence = backend.presence();
    let mut expirations = presence.expirations();
    let session = unique_id("sess");
    presence
        .heartbeat(
            &heartbeat(&session, &unique_id("proj")),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
    let got = tokio::time::timeout(PATIENCE, expirations.next())
        .await
        .expect("no expiration");
    assert_eq!(got, Some(session));
    drop(redis);
}
