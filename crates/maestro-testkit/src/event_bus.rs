//! Contract of [`EventBus`]: delivery to every current subscriber before `publish` returns,
//! per-subscriber order, isolation of subscribers, visible lag.
//!
//! Every case publishes `notify:progress` events of its own unique project and ignores any
//! other event, so the cases can share one distributed bus. The generic cases never have more
//! than 32 events unread per subscriber, so they hold for any bus buffering at least that many.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use maestro_domain::ports::{BoxStream, BusEvent, BusMessage, EventBus, EventId};
use tokio::sync::Semaphore;

use crate::fixtures::{event, event_seq, unique_id};
use crate::support::next_within;

/// Every case of the generic suite.
pub const ALL_CASES: &[&str] = crate::__event_bus_cases!(names);

/// Cases that need the adapter's per-subscriber capacity
/// (`event_bus_contract!(factory, capacity = N)`).
pub const CAPACITY_CASES: &[&str] = &["lagging_subscriber_is_told"];

const WAIT: Duration = Duration::from_secs(2);

/// The next sequence number of `project`'s events on `sub`; panics on lag, end or timeout.
async fn next_seq(sub: &mut BoxStream<BusMessage>, project: &str) -> u64 {
    loop {
        match next_within(sub, WAIT).await {
            Some(BusMessage::Event(e)) => {
                if let Some(n) = event_seq(&e, project) {
                    return n;
                }
            }
            Some(BusMessage::Lagged(n)) => panic!("subscriber lagged by {n} events"),
            None => panic!("no event of {project} within {WAIT:?}"),
        }
    }
}

/// Reads `sub` until it has been quiet for `quiet`; the sequence numbers of `project` seen.
async fn drain(sub: &mut BoxStream<BusMessage>, project: &str, quiet: Duration) -> Vec<u64> {
    let mut seen = Vec::new();
    while let Some(msg) = next_within(sub, quiet).await {
        if let BusMessage::Event(e) = msg
            && let Some(n) = event_seq(&e, project)
        {
            seen.push(n);
        }
    }
    seen
}

pub async fn publish_without_subscribers_is_ok(bus: Arc<dyn EventBus>) {
    let project = unique_id("proj");
    bus.publish(event(&project, 0)).await.unwrap();
    // A subscription made afterwards still works.
    let mut sub = bus.subscribe();
    bus.publish(event(&project, 1)).await.unwrap();
    assert_eq!(next_seq(&mut sub, &project).await, 1);
}

/// An event published with a log id reaches subscribers with that id, unchanged; one
/// published without (`publish`) gets none from a plain bus, or a new one from a logging
/// decorator ([`maestro_domain::services::LoggedBus`]), never the earlier event's.
pub async fn an_event_keeps_its_log_id(bus: Arc<dyn EventBus>) {
    let project = unique_id("proj");
    let mut sub = bus.subscribe();
    let id = EventId::new(1_733_313_600_000, 42);
    bus.publish_event(BusEvent {
        event: event(&project, 3),
        id: Some(id.clone()),
    })
    .await
    .unwrap();
    bus.publish(event(&project, 4)).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        match next_within(&mut sub, WAIT).await {
            Some(BusMessage::Event(e)) if event_seq(&e, &project).is_some() => {
                got.push(e.id.clone());
            }
            Some(_) => {}
            None => panic!("no event of {project} within {WAIT:?}"),
        }
    }
    assert_eq!(got[0], Some(id.clone()), "a given id is kept");
    assert_ne!(
        got[1],
        Some(id),
        "an event without an id never gets another's"
    );
}

pub async fn event_is_queued_when_publish_returns(bus: Arc<dyn EventBus>) {
    let project = unique_id("proj");
    let mut sub = bus.subscribe();
    bus.publish(event(&project, 7)).await.unwrap();
    // Without waiting: the event must already be buffered for this subscriber.
    loop {
        match sub.next().now_or_never() {
            Some(Some(BusMessage::Event(e))) => {
                if event_seq(&e, &project) == Some(7) {
                    break;
                }
            }
            Some(Some(BusMessage::Lagged(_))) => {}
            other => panic!("event not queued when publish returned: {other:?}"),
        }
    }
}

pub async fn order_is_preserved(bus: Arc<dyn EventBus>) {
    const COUNT: u64 = 1_000;
    // At most this many events in flight, so any bus buffering at least that many per
    // subscriber must deliver all of them, in order, without lag.
    const WINDOW: usize = 32;
    let project = unique_id("proj");
    let window = Arc::new(Semaphore::new(WINDOW));
    let mut sub = bus.subscribe();
    let reader = {
        let (project, window) = (project.clone(), Arc::clone(&window));
        tokio::spawn(async move {
            let mut seen = Vec::with_capacity(COUNT as usize);
            while (seen.len() as u64) < COUNT {
                seen.push(next_seq(&mut sub, &project).await);
                window.add_permits(1);
            }
            seen
        })
    };
    for n in 0..COUNT {
        // Bounded wait: if the reader died (it panics on a missing event), fail, not hang.
        tokio::time::timeout(WAIT * 2, window.acquire())
            .await
            .unwrap_or_else(|_| panic!("the reader stopped consuming at event {n}"))
            .unwrap()
            .forget();
        bus.publish(event(&project, n)).await.unwrap();
    }
    let seen = reader.await.unwrap();
    assert_eq!(seen, (0..COUNT).collect::<Vec<_>>());
}

pub async fn fans_out_to_every_subscriber(bus: Arc<dyn EventBus>) {
    let project = unique_id("proj");
    let mut subs: Vec<_> = (0..3).map(|_| bus.subscribe()).collect();
    for n in 0..10 {
        bus.publish(event(&project, n)).await.unwrap();
    }
    for sub in &mut subs {
        let mut seen = Vec::new();
        for _ in 0..10 {
            seen.push(next_seq(sub, &project).await);
        }
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }
}

pub async fn late_subscriber_misses_earlier_events(bus: Arc<dyn EventBus>) {
    let project = unique_id("proj");
    let mut early = bus.subscribe();
    bus.publish(event(&project, 1)).await.unwrap();
    let mut late = bus.subscribe();
    bus.publish(event(&project, 2)).await.unwrap();
    assert_eq!(next_seq(&mut early, &project).await, 1);
    assert_eq!(next_seq(&mut early, &project).await, 2);
    assert_eq!(next_seq(&mut late, &project).await, 2);
    assert_eq!(
        drain(&mut late, &project, Duration::from_millis(200)).await,
        Vec::<u64>::new()
    );
}

pub async fn dropping_a_subscriber_leaves_others(bus: Arc<dyn EventBus>) {
    let project = unique_id("proj");
    let dropped = bus.subscribe();
    let mut kept = bus.subscribe();
    bus.publish(event(&project, 1)).await.unwrap();
    drop(dropped);
    bus.publish(event(&project, 2)).await.unwrap();
    assert_eq!(next_seq(&mut kept, &project).await, 1);
    assert_eq!(next_seq(&mut kept, &project).await, 2);
    // Subscribing again after a drop still works.
    let mut again = bus.subscribe();
    bus.publish(event(&project, 3)).await.unwrap();
    assert_eq!(next_seq(&mut again, &project).await, 3);
    assert_eq!(next_seq(&mut kept, &project).await, 3);
}

/// A subscriber that does not read while `capacity + 10` events are published is told it
/// lagged, then sees the newest events in order; nothing is silently lost.
pub async fn lagging_subscriber_is_told(bus: Arc<dyn EventBus>, capacity: usize) {
    let total = capacity as u64 + 10;
    let project = unique_id("proj");
    let mut sub = bus.subscribe();
    for n in 0..total {
        bus.publish(event(&project, n)).await.unwrap();
    }
    let mut lagged = 0u64;
    let mut seen = Vec::new();
    while let Some(msg) = next_within(&mut sub, Duration::from_millis(300)).await {
        match msg {
            BusMessage::Lagged(n) => {
                assert!(n > 0, "Lagged(0) carries no information");
                lagged += n;
            }
            BusMessage::Event(e) => {
                if let Some(n) = event_seq(&e, &project) {
                    seen.push(n);
                }
            }
        }
    }
    assert!(
        lagged > 0,
        "a subscriber that fell behind must receive Lagged"
    );
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "events after a lag stay in order: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&(total - 1)), "the newest event is kept");
    assert!(
        seen.len() as u64 + lagged >= total,
        "{} events seen + {lagged} reported lost < {total} published",
        seen.len()
    );
}
