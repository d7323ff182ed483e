//! Redis restart: a private `redis-server` is killed and started again on the same port while
//! two "processes" (two backends) publish, subscribe and heartbeat.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use maestro_domain::ports::{BoxStream, BusMessage};
use maestro_testkit::fixtures::{event, event_seq, heartbeat, mail, now_ms, unique_id};
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
async fn everything_recovers_within_5s_of_a_redis_restart() {
    let Some(mut redis) = common::PrivateRedis::start().await else {
        return;
    };
    let prefix = common::unique_prefix();
    let mut config = common::config(&redis.url(), &prefix);
    config.command_timeout = Duration::from_secs(1);
    let a = common::backend_with(config.clone()).await;
    let b = common::backend_with(config).await;
    let (bus_a, bus_b) = (a.bus(), b.bus());
    let mut subs = [bus_a.subscribe(), bus_b.subscribe()];
    let (from_a, from_b) = (unique_id("proj"), unique_id("proj"));
    let mut seen: [[HashSet<u64>; 2]; 2] = Default::default(); // [subscriber][publisher]

    // Before: events flow both ways.
    bus_a.publish(event(&from_a, 0)).await.unwrap();
    bus_b.publish(event(&from_b, 0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (i, sub) in subs.iter_mut().enumerate() {
        ready(sub, [&from_a, &from_b], &mut seen[i]);
        assert!(
            seen[i][0].contains(&0) && seen[i][1].contains(&0),
            "subscriber {i}: {seen:?}"
        );
    }
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
    let deadline = Instant::now() + Duration::from_secs(3);
    while a.redis_bus().stats().publish_failures == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        a.redis_bus().stats().publish_failures >= 1,
        "failure counted"
    );
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
            restarted.elapsed() < Duration::from_secs(5),
            "events did not flow again within 5 s: {seen:?}"
        );
        n += 1;
    };
    eprintln!("events flow again {recovered:?} after the restart");
    // From now on nothing is lost: every subscriber gets every event of both processes.
    let first = n + 1;
    for k in first..first + 20 {
        bus_a.publish(event(&from_a, k)).await.unwrap();
        bus_b.publish(event(&from_b, k)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, sub) in subs.iter_mut().enumerate() {
        ready(sub, [&from_a, &from_b], &mut seen[i]);
        for k in first..first + 20 {
            assert!(
                seen[i][0].contains(&k) && seen[i][1].contains(&k),
                "subscriber {i} missed {k}"
            );
        }
    }

    // Presence reconciled: the lapsed session is reported, the live one restored.
    let reported = tokio::time::timeout(
        Duration::from_secs(5).saturating_sub(restarted.elapsed()),
        async {
            while let Some(id) = expirations.next().await {
                if id == gone {
                    return;
                }
                assert_ne!(id, kept, "a live session was reported expired");
            }
        },
    )
    .await;
    assert!(
        reported.is_ok(),
        "the session that lapsed during the outage was not reported within 5 s"
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
    // reported well before the next sweeps would matter.
    let short = unique_id("sess");
    presence
        .heartbeat(&heartbeat(&short, &project), Duration::from_millis(300))
        .await
        .unwrap();
    let lapse = tokio::time::timeout(Duration::from_secs(3), async {
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
