//! Contract of [`EventLog`]: increasing ids, exact replay or a gap, retention by length and
//! age, isolation of projects, concurrent appenders. Real time (these cases also run against
//! Redis). Each case uses its own unique projects.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use maestro_domain::DomainEvent;
use maestro_domain::events::Deleted;
use maestro_domain::ports::{EventId, EventLog, Gap, Replay, Retention};

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__event_log_cases!(names);

/// Opens an adapter with the given retention (each call may share the backend of the others).
pub type EventLogFactory =
    Arc<dyn Fn(Retention) -> Pin<Box<dyn Future<Output = Arc<dyn EventLog>> + Send>> + Send + Sync>;

/// What `event_log_contract!`'s factory returns.
#[derive(Clone)]
pub struct EventLogFixture(pub EventLogFactory);

impl EventLogFixture {
    pub async fn open(&self, retention: Retention) -> Arc<dyn EventLog> {
        (self.0)(retention).await
    }

    async fn roomy(&self) -> Arc<dyn EventLog> {
        self.open(Retention::default()).await
    }
}

fn project() -> String {
    unique_id("proj")
}

fn event(project: &str, n: usize) -> DomainEvent {
    DomainEvent::TaskDeleted(Deleted {
        id: format!("task_{n}"),
        project_id: Some(project.to_string()),
    })
}

async fn append_n(log: &dyn EventLog, project: &str, n: usize) -> Vec<EventId> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(log.append(project, &event(project, i)).await.unwrap());
    }
    ids
}

fn events(replay: Replay) -> Vec<(EventId, DomainEvent)> {
    match replay {
        Replay::Events(list) => list.into_iter().map(|e| (e.id, e.event)).collect(),
        Replay::Gap(g) => panic!("expected events, got a gap ({g:?})"),
    }
}

pub async fn ids_increase_and_latest_is_the_newest(f: EventLogFixture) {
    let log = f.roomy().await;
    let p = project();
    assert_eq!(log.latest(&p).await.unwrap(), None);
    let ids = append_n(log.as_ref(), &p, 20).await;
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(log.latest(&p).await.unwrap().as_ref(), ids.last());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    assert!(
        (ids[0].millis() - now).abs() < 60_000,
        "an id starts with the time it was appended: {} vs {now}",
        ids[0]
    );
}

pub async fn read_after_returns_exactly_the_later_events_in_order(f: EventLogFixture) {
    let log = f.roomy().await;
    let p = project();
    let ids = append_n(log.as_ref(), &p, 10).await;
    let got = events(log.read_after(&p, &ids[3], 100).await.unwrap());
    let want: Vec<(EventId, DomainEvent)> =
        (4..10).map(|i| (ids[i].clone(), event(&p, i))).collect();
    assert_eq!(got, want);
    assert!(events(log.read_after(&p, &ids[9], 100).await.unwrap()).is_empty());
}

pub async fn an_id_the_log_does_not_hold_is_a_gap(f: EventLogFixture) {
    let log = f.roomy().await;
    let p = project();
    let ids = append_n(log.as_ref(), &p, 3).await;
    let never = EventId::new(ids[0].ms(), ids[0].seq() + 1_000_000);
    assert_eq!(
        log.read_after(&p, &never, 100).await.unwrap(),
        Replay::Gap(Gap::Unknown)
    );
    let before = EventId::new(1, 0);
    assert_eq!(
        log.read_after(&p, &before, 100).await.unwrap(),
        Replay::Gap(Gap::Unknown)
    );
    let empty = project();
    assert_eq!(
        log.read_after(&empty, &ids[0], 100).await.unwrap(),
        Replay::Gap(Gap::Unknown)
    );
}

pub async fn more_than_max_missed_is_a_gap(f: EventLogFixture) {
    let log = f.roomy().await;
    let p = project();
    let ids = append_n(log.as_ref(), &p, 8).await;
    assert_eq!(
        log.read_after(&p, &ids[0], 6).await.unwrap(),
        Replay::Gap(Gap::TooMany)
    );
    assert_eq!(
        events(log.read_after(&p, &ids[0], 7).await.unwrap()).len(),
        7
    );
}

pub async fn trimmed_by_length_is_a_gap_and_the_rest_replays(f: EventLogFixture) {
    let log = f
        .open(Retention {
            max_len: 5,
            max_age: Duration::from_secs(3600),
        })
        .await;
    let p = project();
    let ids = append_n(log.as_ref(), &p, 12).await;
    assert_eq!(
        log.read_after(&p, &ids[0], 100).await.unwrap(),
        Replay::Gap(Gap::Unknown)
    );
    let kept = ids.len() - 5;
    let got = events(log.read_after(&p, &ids[kept], 100).await.unwrap());
    assert_eq!(
        got.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
        ids[kept + 1..]
    );
    // Ids keep growing after trimming.
    let next = log.append(&p, &event(&p, 99)).await.unwrap();
    assert!(next > ids[11]);
}

pub async fn trimmed_by_age_is_a_gap(f: EventLogFixture) {
    let log = f
        .open(Retention {
            max_len: 1000,
            // Long enough that the fresh events are not trimmed too on a stalled machine.
            max_age: Duration::from_secs(3),
        })
        .await;
    let p = project();
    let old = append_n(log.as_ref(), &p, 2).await;
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let fresh = append_n(log.as_ref(), &p, 2).await;
    assert_eq!(
        log.read_after(&p, &old[0], 100).await.unwrap(),
        Replay::Gap(Gap::Unknown)
    );
    assert_eq!(
        events(log.read_after(&p, &fresh[0], 100).await.unwrap()).len(),
        1
    );
}

pub async fn projects_are_isolated(f: EventLogFixture) {
    let log = f.roomy().await;
    let (a, b) = (project(), project());
    let ia = append_n(log.as_ref(), &a, 3).await;
    let ib = append_n(log.as_ref(), &b, 3).await;
    let got = events(log.read_after(&a, &ia[0], 100).await.unwrap());
    assert!(got.iter().all(|(_, e)| e.project_id() == Some(a.as_str())));
    assert_eq!(got.len(), 2);
    let got = events(log.read_after(&b, &ib[1], 100).await.unwrap());
    assert_eq!(got, [(ib[2].clone(), event(&b, 2))]);
    assert_eq!(log.latest(&a).await.unwrap().as_ref(), ia.last());
}

pub async fn concurrent_appenders_get_distinct_ids_in_one_order(f: EventLogFixture) {
    let p = project();
    let first = f.roomy().await.append(&p, &event(&p, 0)).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        // Each writer opens its own adapter, as another server process would.
        let log = f.roomy().await;
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                ids.push(
                    log.append(&p, &event(&p, 1000 * (w + 1) + i))
                        .await
                        .unwrap(),
                );
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let ids = t.await.unwrap();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "one writer's ids increase"
        );
        all.extend(ids);
    }
    let log = f.roomy().await;
    let replayed: Vec<EventId> = events(log.read_after(&p, &first, 1000).await.unwrap())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(replayed.len(), 200);
    assert!(
        replayed.windows(2).all(|w| w[0] < w[1]),
        "replay is in id order"
    );
    all.sort();
    assert_eq!(replayed, all, "every append is in the log exactly once");
}
