//! Presence across two "processes": a lapse is reported once, within TTL + 2 s.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use maestro_testkit::fixtures::{heartbeat, unique_id};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_heartbeats_are_reported_within_ttl_plus_2s_exactly_once() {
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
    let ttl = Duration::from_secs(1);
    // Heartbeats alternate between the processes, then stop.
    let mut last = Instant::now();
    for i in 0..6 {
        let p = if i % 2 == 0 { &pa } else { &pb };
        p.heartbeat(&heartbeat(&session, &project), ttl)
            .await
            .unwrap();
        p.heartbeat(&heartbeat(&steady, &project), Duration::from_secs(30))
            .await
            .unwrap();
        last = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut reports = Vec::new();
    let until = last + ttl + Duration::from_secs(2);
    while Instant::now() < until + Duration::from_millis(1500) {
        tokio::select! {
            Some(id) = on_a.next() => reports.push(("a", id, Instant::now())),
            Some(id) = on_b.next() => reports.push(("b", id, Instant::now())),
            () = tokio::time::sleep_until(until + Duration::from_millis(1500)) => break,
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
        *at <= until,
        "reported {:?} after TTL + 2 s",
        at.duration_since(until)
    );
    assert!(
        *at >= last + ttl - Duration::from_millis(50),
        "reported before the TTL lapsed"
    );
    assert!(!reports.iter().any(|(_, id, _)| *id == steady));
    assert!(!pa.is_alive(&session).await.unwrap());
    assert!(pb.is_alive(&steady).await.unwrap());
    pa.remove(&steady).await.unwrap();
}

/// With sweeps far apart, only keyspace `expired` events can report a lapse this fast. On a
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
    let got = tokio::time::timeout(Duration::from_secs(2), expirations.next())
        .await
        .expect("no keyspace expiry event within 2 s");
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
    let got = tokio::time::timeout(Duration::from_secs(2), expirations.next())
        .await
        .expect("no expiration within 2 s");
    assert_eq!(got, Some(session));
    drop(redis);
}
