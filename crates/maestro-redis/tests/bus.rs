//! Two buses on one Redis stand for two server processes.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use maestro_domain::DomainEvent;
use maestro_domain::ports::{BoxStream, BusMessage};
use maestro_testkit::fixtures::{event, event_seq, mail, now_ms, session, unique_id};

/// Everything `sub` yields until it has been quiet for `quiet`.
async fn drain(sub: &mut BoxStream<BusMessage>, quiet: Duration) -> Vec<BusMessage> {
    let mut out = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(quiet, sub.next()).await {
        out.push(m);
    }
    out
}

fn seqs(messages: &[BusMessage], project: &str) -> Vec<u64> {
    messages
        .iter()
        .filter_map(|m| match m {
            BusMessage::Event(e) => event_seq(e, project),
            BusMessage::Lagged(n) => panic!("lagged by {n}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_exchange_events_in_order_without_duplicates() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    assert_ne!(a.redis_bus().origin(), b.redis_bus().origin());
    let (bus_a, bus_b) = (a.bus(), b.bus());
    let mut subs = [bus_a.subscribe(), bus_a.subscribe(), bus_b.subscribe()];
    let (pa, pb) = (unique_id("proj"), unique_id("proj"));
    const N: u64 = 200;
    let send_a = {
        let (bus, p) = (bus_a.clone(), pa.clone());
        tokio::spawn(async move {
            for n in 0..N {
                bus.publish(event(&p, n)).await.unwrap();
            }
        })
    };
    let send_b = {
        let (bus, p) = (bus_b.clone(), pb.clone());
        tokio::spawn(async move {
            for n in 0..N {
                bus.publish(event(&p, n)).await.unwrap();
            }
        })
    };
    send_a.await.unwrap();
    send_b.await.unwrap();
    let expected: Vec<u64> = (0..N).collect();
    for (i, sub) in subs.iter_mut().enumerate() {
        let got = drain(sub, Duration::from_millis(500)).await;
        assert_eq!(seqs(&got, &pa), expected, "subscriber {i}: events of A");
        assert_eq!(seqs(&got, &pb), expected, "subscriber {i}: events of B");
    }
    let (sa, sb) = (a.redis_bus().stats(), b.redis_bus().stats());
    assert_eq!((sa.published, sa.received, sa.publish_failures), (N, N, 0));
    assert_eq!((sb.published, sb.received, sb.publish_failures), (N, N, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_round_trip_exactly_and_prefixes_are_isolated() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let other = common::backend(&url).await;
    let mut on_b = b.bus().subscribe();
    let mut elsewhere = other.bus().subscribe();
    let p = unique_id("proj");
    let mut m = mail(&unique_id("mail"), &p, "sess_a", None, now_ms());
    m.body = serde_json::json!({"z": 1, "a": [true, null, "✓"], "nested": {"k": 1.5}});
    let sent = [
        DomainEvent::MailReceived(m),
        DomainEvent::SessionUpdated(session(&unique_id("sess"), &p, now_ms())),
    ];
    for e in &sent {
        a.bus().publish(e.clone()).await.unwrap();
    }
    let got: Vec<DomainEvent> = drain(&mut on_b, Duration::from_millis(500))
        .await
        .into_iter()
        .map(|m| match m {
            BusMessage::Event(e) => e.event.clone(),
            BusMessage::Lagged(n) => panic!("lagged by {n}"),
        })
        .collect();
    assert_eq!(got, sent, "remote events equal the published ones");
    assert!(
        drain(&mut elsewhere, Duration::from_millis(200))
            .await
            .is_empty()
    );
}

/// Behind the domain's `LoggedBus`, each process's events carry the id the shared log gave
/// them, and the other process receives the same id: a client may resume on either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_ids_reach_the_other_process_unchanged() {
    use std::sync::Arc;

    use maestro_domain::ports::{EventBus, Replay};
    use maestro_domain::services::LoggedBus;
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let logged_a = LoggedBus::new(a.bus(), a.event_log());
    let logged_b: Arc<dyn EventBus> = Arc::new(LoggedBus::new(b.bus(), b.event_log()));
    let mut on_a = a.bus().subscribe();
    let mut on_b = b.bus().subscribe();
    let p = unique_id("proj");
    for n in 0..3 {
        logged_a.publish(event(&p, n)).await.unwrap();
        logged_b.publish(event(&p, 10 + n)).await.unwrap();
    }
    let ids = |messages: Vec<BusMessage>| -> Vec<String> {
        messages
            .into_iter()
            .filter_map(|m| match m {
                BusMessage::Event(e) if e.project_id() == Some(p.as_str()) => {
                    Some(e.id.as_ref().expect("a logged event has an id").to_string())
                }
                _ => None,
            })
            .collect()
    };
    let mut seen_a = ids(drain(&mut on_a, Duration::from_millis(500)).await);
    let mut seen_b = ids(drain(&mut on_b, Duration::from_millis(500)).await);
    assert_eq!(seen_a.len(), 6);
    seen_a.sort();
    seen_b.sort();
    assert_eq!(seen_a, seen_b, "both processes saw the same six ids");
    let first = seen_a[0].parse().unwrap();
    let Replay::Events(after) = a.event_log().read_after(&p, &first, 100).await.unwrap() else {
        panic!("the log holds every event");
    };
    assert_eq!(after.len(), 5);
}
