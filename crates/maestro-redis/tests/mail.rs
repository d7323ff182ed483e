//! Mail across two "processes" on one Redis.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use maestro_domain::ports::InboxQuery;
use maestro_testkit::fixtures::{mail, now_ms, unique_id};

fn inbox(project: &str, session: &str, since: Option<i64>) -> InboxQuery {
    InboxQuery {
        project_id: project.into(),
        session_id: session.into(),
        kind: None,
        since,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_stored_by_another_process_wakes_a_waiter() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let (p, me) = (unique_id("proj"), unique_id("sess"));
    let since = now_ms();
    // The waiter's own timeout is 120 s; every wait below is guarded at 60 s: an answer before
    // that was a wake-up (no duration is measured).
    let waiter = {
        let (repo, q) = (a.mail(), inbox(&p, &me, Some(since)));
        tokio::spawn(async move { repo.wait_inbox(&q, Duration::from_secs(120)).await.unwrap() })
    };
    let blocked = |n: u64| {
        let a = a.redis_mail().clone();
        maestro_testkit::poll::until("blocked in XREAD", move || a.blocking_reads_started() >= n)
    };
    blocked(1).await;
    // Noise that must not end the wait: own broadcast, someone else's mail.
    b.mail()
        .create(mail(&unique_id("mail"), &p, &me, None, since + 1))
        .await
        .unwrap();
    b.mail()
        .create(mail(&unique_id("mail"), &p, "x", Some("other"), since + 2))
        .await
        .unwrap();
    // Woken by the noise, found nothing of its own, blocked again.
    blocked(2).await;
    assert!(!waiter.is_finished(), "noise ended the wait");
    let m = mail(&unique_id("mail"), &p, "peer", Some(&me), since + 3);
    b.mail().create(m.clone()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(60), waiter)
        .await
        .expect("woken, not timed out")
        .unwrap();
    assert_eq!(got, vec![m]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_wait_leaves_later_waits_working() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let backend = common::backend(&url).await;
    let repo = backend.mail();
    let (p, me) = (unique_id("proj"), unique_id("sess"));
    let q = inbox(&p, &me, Some(now_ms()));
    for _ in 0..3 {
        let cancelled = tokio::time::timeout(
            Duration::from_millis(100),
            repo.wait_inbox(&q, Duration::from_secs(30)),
        )
        .await;
        assert!(cancelled.is_err());
    }
    let before = backend.redis_mail().blocking_reads_started();
    let waiter = {
        let (repo, q) = (repo.clone(), q.clone());
        tokio::spawn(async move { repo.wait_inbox(&q, Duration::from_secs(120)).await.unwrap() })
    };
    let redis_mail = backend.redis_mail().clone();
    maestro_testkit::poll::until("blocked in XREAD", || {
        redis_mail.blocking_reads_started() > before
    })
    .await;
    let m = mail(&unique_id("mail"), &p, "peer", Some(&me), now_ms() + 10);
    repo.create(m.clone()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(60), waiter)
        .await
        .expect("woken, not timed out")
        .unwrap();
    assert_eq!(got, vec![m]);
    // A timed-out wait answers [] at its timeout (not before it).
    let q2 = inbox(&p, &unique_id("sess"), Some(now_ms()));
    let started = std::time::Instant::now();
    assert!(
        repo.wait_inbox(&q2, Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stamped_creates_of_two_processes_are_strictly_increasing_in_store_order() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let (p, me) = (unique_id("proj"), unique_id("sess"));
    // Process B's clock is 5 s behind A's.
    let t = now_ms();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (repo, skew) = if i % 2 == 0 {
            (a.redis_mail().clone(), 0)
        } else {
            (b.redis_mail().clone(), -5_000)
        };
        let m = mail(
            &format!("mail_{i:03}_{}", unique_id("m")),
            &p,
            "peer",
            Some(&me),
            t + skew,
        );
        tasks.push(tokio::spawn(async move {
            repo.create_stamped(m).await.unwrap().unwrap()
        }));
    }
    let mut stored = Vec::new();
    for task in tasks {
        stored.push(task.await.unwrap());
    }
    let listed = a.mail().list(Some(&p)).await.unwrap();
    let mut stamps: Vec<i64> = listed.iter().map(|m| m.created_at).collect();
    let n = stamps.len();
    stamps.dedup();
    assert_eq!((n, stamps.len()), (200, 200), "every createdAt is distinct");
    // Each returned mail is what was stored, and what `get` returns.
    for m in stored.iter().take(10) {
        assert_eq!(a.mail().get(&m.id).await.unwrap().as_ref(), Some(m));
    }
    // A poller that advanced `since` past any mail never misses a later-stored one.
    let since = listed[99].created_at;
    assert_eq!(
        a.mail().inbox(&inbox(&p, &me, Some(since))).await.unwrap(),
        listed[100..].to_vec()
    );
}
