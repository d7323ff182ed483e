//! What each decorator records, read back from a Prometheus recorder local to the test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use maestro_domain::ports::{Fenced, Heartbeat, Lock, Presence, ProjectRepo};
use maestro_memory::{MemoryLock, MemoryPresence, MemoryProjectRepo};
use maestro_metrics::{MeteredLock, MeteredPresence, MeteredRepo};
use metrics_exporter_prometheus::PrometheusBuilder;

/// Runs `f` on a current-thread runtime with a fresh recorder installed for this thread, and
/// returns the exposition text afterwards.
fn recorded<F: std::future::Future<Output = ()>>(f: impl FnOnce() -> F) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f());
    });
    handle.render()
}

fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn repository_operations_are_timed_by_adapter_op_and_result() {
    let text = recorded(|| async {
        let inner: Arc<dyn ProjectRepo> = Arc::new(MemoryProjectRepo::new());
        let repo = MeteredRepo::wrap(inner, "memory", "project");
        let p = maestro_testkit::fixtures::project("proj_counted", 1);
        repo.create(p.clone()).await.unwrap();
        repo.create(p.clone()).await.unwrap_err();
        for _ in 0..3 {
            repo.get(&p.id).await.unwrap();
        }
    });
    let base = "maestro_repo_operation_duration_seconds_count";
    assert_eq!(
        sample(
            &text,
            &format!(r#"{base}{{adapter="memory",repo="project",op="get",result="ok"}}"#)
        ),
        3.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"{base}{{adapter="memory",repo="project",op="create",result="ok"}}"#)
        ),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"{base}{{adapter="memory",repo="project",op="create",result="err"}}"#)
        ),
        1.0
    );
}

#[test]
fn heartbeats_and_expirations_are_counted() {
    let text = recorded(|| async {
        let presence = MeteredPresence::wrap(Arc::new(MemoryPresence::new()));
        let mut expired = presence.expirations();
        let beat = Heartbeat {
            session_id: "sess_a".into(),
            project_id: "proj_a".into(),
            last_seen: 1,
        };
        for _ in 0..2 {
            presence
                .heartbeat(&beat, Duration::from_millis(50))
                .await
                .unwrap();
        }
        let lapsed = tokio::time::timeout(Duration::from_secs(5), expired.next())
            .await
            .unwrap();
        assert_eq!(lapsed.as_deref(), Some("sess_a"));
    });
    assert_eq!(sample(&text, "maestro_presence_heartbeats_total "), 2.0);
    assert_eq!(sample(&text, "maestro_presence_expirations_total "), 1.0);
}

#[test]
fn claim_outcomes_are_counted() {
    let text = recorded(|| async {
        let lock = MeteredLock::wrap(Arc::new(MemoryLock::new()));
        let ttl = Duration::from_secs(30);
        assert!(matches!(
            lock.acquire_fenced("task-claim:t1", "s1", ttl)
                .await
                .unwrap(),
            Fenced::Granted { renewed: false, .. }
        ));
        lock.acquire_fenced("task-claim:t1", "s1", ttl)
            .await
            .unwrap();
        lock.acquire_fenced("task-claim:t1", "s2", ttl)
            .await
            .unwrap();
        lock.acquire_fenced("task-claim:t1", "s2", ttl)
            .await
            .unwrap();
        assert!(!lock.release_fenced("task-claim:t1", "s2").await.unwrap());
        assert!(lock.release_fenced("task-claim:t1", "s1").await.unwrap());
        // Plain leases are not claims.
        lock.try_acquire("other", ttl).await.unwrap().unwrap();
    });
    let outcome = |o: &str| sample(&text, &format!(r#"maestro_claims_total{{outcome="{o}"}}"#));
    assert_eq!(outcome("granted"), 1.0, "{text}");
    assert_eq!(outcome("renewed"), 1.0);
    assert_eq!(outcome("refused"), 2.0);
    assert_eq!(outcome("released"), 1.0);
}

#[test]
fn published_events_are_counted_by_name() {
    use maestro_domain::events::{Deleted, DomainEvent};
    use maestro_domain::ports::EventBus;
    let text = recorded(|| async {
        let bus =
            maestro_metrics::MeteredBus::wrap(Arc::new(maestro_memory::MemoryEventBus::new()));
        for id in ["proj_a", "proj_b"] {
            bus.publish(DomainEvent::ProjectDeleted(Deleted {
                id: id.into(),
                project_id: Some(id.into()),
            }))
            .await
            .unwrap();
        }
    });
    assert_eq!(
        sample(
            &text,
            r#"maestro_events_published_total{event="project:deleted"}"#
        ),
        2.0,
        "{text}"
    );
}
