//! Redis restart: a private `redis-server` is killed and started again on the same port while
//! two "processes" (two backends) publish, subscribe and heartbeat.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use maestro_domain::ports::{BoxStream, BusMessage};
use maestro_testkit::fixtures::{event, event_seq, heartbeat, mail, now_ms, unique_id};
use maestro_testkit::poll;
use tokio::time::Instant;

/// Sequence numbers of the events of `projects[k]` that `sub` holds right now, into `into[k]`.
fn ready(sub: &mut BoxStream<BusMessage>, projects: [&str; 2], into: &mut [HashSet<u64>; 2]) {
    while let Some(Some(m)) = sub.next().now_or_never() {
        if let BusMessage::Event(e) = m {
            for (k, project) in projects.iter().enumerate() {
                if let Some(n) = event_seq(&e, project) {
                    into[k].insert(n);
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_recovers_after_a_redis_restart() {
    let Some(mut redis) = common::PrivateRedis::start().await else {
        return;
    };
    let prefix = common::unique_prefix();
    let mut config = common::config(&redis.url(), &prefix);
    config.command_timeout = Duration::from_secs(1);
    // No periodic sweep within the test: lapses are found by keyspace notifications, or by
    // the reconciliation after a reconnect, never by a timer.
    config.presence_sweep_interval = Duration::from_secs(3600);
    let a = common::backend_with(config.clone()).await;
    let b = common::backend_with(config).await;
    let (bus_a, bus_b) = (a.bus(), b.bus());
    let mut subs = [bus_a.subscribe(), bus_b.subscribe()];
    let (from_a, from_b) = (unique_id("proj"), unique_id("proj"));
    let mut seen: [[HashSet<u64>; 2]; 2] = Default::default(); // [subscriber][publisher]

    // Before: events flow both ways (once both processes have subscribed).
    poll::until("subscribed", || {
        a.redis_bus().stats().subscriptions >= 1 && b.redis_bus().stats().subscriptions >= 1
    })
    .await;
    bus_a.publish(event(&from_a, 0)).await.unwrap();
    bus_b.publish(event(&from_b, 0)).await.unwrap();
    poll::until("event 0 of both seen by both", || {
        for (i, sub) in subs.iter_mut().enumerate() {
            ready(sub, [&from_a, &from_b], &mut seen[i]);
        }
        seen.iter().flatten().all(|s| s.contains(&0))
    })
    .await;
    let presence = a.presence();
    let mut expirations = presence.expirations();
    let project = unique_id("proj");
    let (gone, kept) = (unique_id("sess"), unique_id("sess"));
    presence
        .heartbeat(&heartbeat(&gone, &project), Duration::from_millis(800))
        .await
        .unwrap();
    presence
        .heartbeat(&heartbeat(&kept, &project), Duration::from_secs(60))
        .await
        .unwrap();

    // Redis dies: local delivery goes on, publish stays Ok, failures are counted.
    redis.kill().await;
    bus_a.publish(event(&from_a, 1)).await.unwrap();
    ready(&mut subs[0], [&from_a, &from_b], &mut seen[0]);
    assert!(
        seen[0][0].contains(&1),
        "local delivery while Redis is down"
    );
    poll::until("the failure counted", || {
        a.redis_bus().stats().publish_failures >= 1
    })
    .await;
    assert!(
        a.mail().list(Some(&project)).await.is_err(),
        "commands fail while down"
    );
    // `gone` lapses while Redis is down (its expiry event is never sent).
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Redis is back, empty.
    redis.restart().await.unwrap();
    let restarted = Instant::now();
    let mut n = 100;
    let recovered = loop {
        bus_a.publish(event(&from_a, n)).await.unwrap();
        bus_b.publish(event(&from_b, n)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        for (i, sub) in subs.iter_mut().enumerate() {
            ready(sub, [&from_a, &from_b], &mut seen[i]);
        }
        let all_flow = seen.iter().flatten().all(|s| s.iter().any(|&k| k >= 100));
        if all_flow {
            break restarted.elapsed();
        }
        assert!(
            restarted.elapsed() < poll::PATIENCE,
            "events did not flow again: {seen:?}"
        );
        n += 1;
    };
    // A figure, not a bound (docs/BENCHMARKS.md, "Redis restart").
    eprintln!("events flow again {recovered:?} after the restart");
    // From now on nothing is lost: every subscriber gets every event of both processes.
    let first = n + 1;
    for k in first..first + 20 {
        bus_a.publish(event(&from_a, k)).await.unwrap();
        bus_b.publish(event(&from_b, k)).await.unwrap();
    }
    poll::until("every event seen by both subscribers", || {
        for (i, sub) in subs.iter_mut().enumerate() {
            ready(sub, [&from_a, &from_b], &mut seen[i]);
        }
        seen.iter()
            .flatten()
            .all(|s| (first..first + 20).all(|k| s.contains(&k)))
    })
    .await;

    // Presence reconciled: the lapsed session is reported, the live one restored.
    let reported = tokio::time::timeout(poll::PATIENCE, async {
        while let Some(id) = expirations.next().await {
            if id == gone {
                return;
            }
            assert_ne!(id, kept, "a live session was reported expired");
        }
    })
    .await;
    assert!(
        reported.is_ok(),
        "the session that lapsed during the outage was not reported"
    );
    assert!(
        presence.is_alive(&kept).await.unwrap(),
        "live session restored"
    );
    assert!(!presence.is_alive(&gone).await.unwrap());
    assert!(
        presence
            .alive()
            .await
            .unwrap()
            .iter()
            .any(|e| e.session_id == kept)
    );

    // Keyspace notifications were switched on again on the fresh server: a new lapse is
    // reported (no periodic sweep runs in this test).
    let short = unique_id("sess");
    presence
        .heartbeat(&heartbeat(&short, &project), Duration::from_millis(300))
        .await
        .unwrap();
    let lapse = tokio::time::timeout(poll::PATIENCE, async {
        while let Some(id) = expirations.next().await {
            if id == short {
                return;
            }
        }
    })
    .await;
    assert!(lapse.is_ok(), "no expiration after the restart");

    // Commands, scripts (reloaded after NOSCRIPT) and streams work again.
    let lease = a
        .lock()
        .try_acquire("after-restart", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert!(b.lock().release(&lease).await.unwrap());
    let m = mail(&unique_id("mail"), &project, "peer", Some("me"), now_ms());
    b.mail().create(m.clone()).await.unwrap();
    assert_eq!(a.mail().get(&m.id).await.unwrap(), Some(m));
    assert!(a.redis_bus().stats().subscriptions >= 2 && b.redis_bus().stats().subscriptions >= 2);
}
