//! Lock race across two "processes" (two backends on one Redis).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use maestro_domain::ports::Lock;
use maestro_testkit::fixtures::unique_id;

/// Fifty contenders on two connections race until the lock has been taken 300 times: never
/// two holders at once, and a lease is never lost. (Ending on a count, not a clock, keeps a
/// slow machine from turning into a failure; the rate is a figure, printed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_contenders_never_overlap() {
    const ACQUISITIONS: usize = 300;
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let locks = [a.lock(), b.lock()];
    let resource = unique_id("race");
    let holders = Arc::new(AtomicUsize::new(0));
    let overlapped = Arc::new(AtomicBool::new(false));
    let acquisitions = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let lock: Arc<dyn Lock> = Arc::clone(&locks[i % 2]);
            let r = resource.clone();
            let (holders, overlapped, acquisitions) =
                (holders.clone(), overlapped.clone(), acquisitions.clone());
            tokio::spawn(async move {
                while acquisitions.load(Ordering::SeqCst) < ACQUISITIONS {
                    match lock.try_acquire(&r, Duration::from_secs(60)).await.unwrap() {
                        Some(lease) => {
                            if holders.fetch_add(1, Ordering::SeqCst) != 0 {
                                overlapped.store(true, Ordering::SeqCst);
                            }
                            acquisitions.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_micros(300)).await;
                            holders.fetch_sub(1, Ordering::SeqCst);
                            assert!(lock.release(&lease).await.unwrap(), "lost a live lease");
                        }
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
            })
        })
        .collect();
    tokio::time::timeout(maestro_testkit::poll::PATIENCE, async {
        for t in tasks {
            t.await.unwrap();
        }
    })
    .await
    .expect("the contenders make progress");
    assert!(!overlapped.load(Ordering::SeqCst), "two holders at once");
    let n = acquisitions.load(Ordering::SeqCst);
    eprintln!(
        "lock race: {n} acquisitions in {:?} by 50 contenders on 2 connections",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_holder_cannot_release_or_extend_the_next_owners_lock() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let a = common::backend_with(common::config(&url, &prefix)).await;
    let b = common::backend_with(common::config(&url, &prefix)).await;
    let r = unique_id("lapse");
    // A TTL of 1 s: still held at the next step even on a stalled machine.
    let old = a
        .lock()
        .try_acquire(&r, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        b.lock()
            .try_acquire(&r, Duration::from_secs(10))
            .await
            .unwrap(),
        None
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let new = b
        .lock()
        .try_acquire(&r, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("the lapsed lease frees the resource");
    assert!(!a.lock().release(&old).await.unwrap());
    assert!(
        !a.lock()
            .extend(&old, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(
        a.lock()
            .try_acquire(&r, Duration::from_secs(10))
            .await
            .unwrap(),
        None
    );
    assert!(b.lock().release(&new).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_of_fenced_leases_stays_small_without_counting() {
    use fred::prelude::*;
    let Some(url) = common::redis_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let backend = common::backend_with(common::config(&url, &prefix)).await;
    let lock = backend.lock();
    for i in 0..20 {
        lock.acquire_fenced(&format!("task-claim:{i}"), "s", Duration::from_millis(50))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Nobody counted; the next acquisition drops the 20 lapsed entries.
    lock.acquire_fenced("task-claim:live", "s", Duration::from_secs(30))
        .await
        .unwrap();
    let raw = fred::clients::Client::new(Config::from_url(&url).unwrap(), None, None, None);
    raw.init().await.unwrap();
    let held: i64 = raw.zcard(format!("{prefix}fence-index")).await.unwrap();
    assert_eq!(held, 1);
    assert_eq!(lock.live_fenced().await.unwrap(), 1);
}
