//! Contract of [`Lock`]: one live lease per resource, TTL lapse, owner-only release and
//! extend. Real time (these cases also run against Redis).
//!
//! Each case locks its own unique resources.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use maestro_domain::DomainError;
use maestro_domain::ports::{Fenced, FencedLease, Lease, Lock, with_lock};

use crate::fixtures::unique_id;

/// Every case.
pub const ALL_CASES: &[&str] = crate::__lock_cases!(names);

const LONG: Duration = Duration::from_secs(30);

fn resource() -> String {
    unique_id("lock")
}

pub async fn second_acquire_is_refused(lock: Arc<dyn Lock>) {
    let r = resource();
    let lease = lock
        .try_acquire(&r, LONG)
        .await
        .unwrap()
        .expect("free resource");
    assert_eq!(lease.resource, r);
    assert!(!lease.token.is_empty());
    assert_eq!(lock.try_acquire(&r, LONG).await.unwrap(), None);
    assert_eq!(
        lock.try_acquire(&r, Duration::from_millis(1))
            .await
            .unwrap(),
        None
    );
    assert!(lock.release(&lease).await.unwrap());
}

pub async fn foreign_token_cannot_release_or_extend(lock: Arc<dyn Lock>) {
    let r = resource();
    let lease = lock.try_acquire(&r, LONG).await.unwrap().unwrap();
    let forged = Lease {
        resource: r.clone(),
        token: format!("{}x", lease.token),
    };
    assert!(!lock.release(&forged).await.unwrap());
    assert!(!lock.extend(&forged, LONG).await.unwrap());
    let empty = Lease {
        resource: r.clone(),
        token: String::new(),
    };
    assert!(!lock.release(&empty).await.unwrap());
    // Still held by the owner.
    assert_eq!(lock.try_acquire(&r, LONG).await.unwrap(), None);
    // A lease of another resource does not act on this one.
    let elsewhere = Lease {
        resource: resource(),
        token: lease.token.clone(),
    };
    assert!(!lock.release(&elsewhere).await.unwrap());
    assert_eq!(lock.try_acquire(&r, LONG).await.unwrap(), None);
    assert!(lock.release(&lease).await.unwrap());
}

pub async fn release_then_reacquire(lock: Arc<dyn Lock>) {
    let r = resource();
    let first = lock.try_acquire(&r, LONG).await.unwrap().unwrap();
    assert!(lock.release(&first).await.unwrap());
    assert!(
        !lock.release(&first).await.unwrap(),
        "a released lease is gone"
    );
    let second = lock
        .try_acquire(&r, LONG)
        .await
        .unwrap()
        .expect("released resource");
    assert_ne!(second.token, first.token, "owner tokens must be fresh");
    assert!(!lock.release(&first).await.unwrap());
    assert!(!lock.extend(&first, LONG).await.unwrap());
    assert_eq!(lock.try_acquire(&r, LONG).await.unwrap(), None);
    assert!(lock.release(&second).await.unwrap());
}

pub async fn lease_lapses_after_ttl(lock: Arc<dyn Lock>) {
    let r = resource();
    // A TTL long enough that the "still held" check cannot lose a race with a stalled
    // machine; sleeping past it can only make the case slower, never wrong.
    let lease = lock
        .try_acquire(&r, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lock.try_acquire(&r, LONG).await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(
        !lock.extend(&lease, LONG).await.unwrap(),
        "a lapsed lease cannot be extended"
    );
    let next = lock
        .try_acquire(&r, LONG)
        .await
        .unwrap()
        .expect("a lapsed lease frees the resource");
    assert!(lock.release(&next).await.unwrap());
}

pub async fn extend_keeps_the_lease(lock: Arc<dyn Lock>) {
    let r = resource();
    let lease = lock
        .try_acquire(&r, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    // Extended at once (a wait here could outlast the first TTL on a stalled machine).
    assert!(lock.extend(&lease, Duration::from_secs(20)).await.unwrap());
    // Past the first TTL: still held thanks to the extension.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(lock.try_acquire(&r, LONG).await.unwrap(), None);
    assert!(
        lock.release(&lease).await.unwrap(),
        "the extended lease is still owned"
    );
    assert!(lock.try_acquire(&r, LONG).await.unwrap().is_some());
}

pub async fn lapsed_lease_cannot_touch_new_owner(lock: Arc<dyn Lock>) {
    let r = resource();
    let old = lock
        .try_acquire(&r, Duration::from_millis(150))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let new = lock.try_acquire(&r, LONG).await.unwrap().expect("lapsed");
    assert!(!lock.release(&old).await.unwrap());
    assert!(!lock.extend(&old, LONG).await.unwrap());
    assert_eq!(
        lock.try_acquire(&r, LONG).await.unwrap(),
        None,
        "the old owner released the new owner's lock"
    );
    assert!(lock.release(&new).await.unwrap());
}

pub async fn resources_are_independent(lock: Arc<dyn Lock>) {
    let (a, b) = (resource(), resource());
    let la = lock.try_acquire(&a, LONG).await.unwrap().unwrap();
    let lb = lock
        .try_acquire(&b, LONG)
        .await
        .unwrap()
        .expect("other resource");
    assert!(lock.release(&la).await.unwrap());
    assert_eq!(lock.try_acquire(&b, LONG).await.unwrap(), None);
    assert!(lock.release(&lb).await.unwrap());
}

pub async fn contenders_never_overlap(lock: Arc<dyn Lock>) {
    const CONTENDERS: usize = 50;
    let r = resource();
    let holders = Arc::new(AtomicUsize::new(0));
    let overlapped = Arc::new(AtomicBool::new(false));
    let acquisitions = Arc::new(AtomicUsize::new(0));
    // The race ends on a count, not a clock: a slow machine makes it longer, never a failure.
    const ACQUISITIONS: usize = 100;
    let tasks: Vec<_> = (0..CONTENDERS)
        .map(|_| {
            let (lock, r) = (Arc::clone(&lock), r.clone());
            let (holders, overlapped, acquisitions) = (
                Arc::clone(&holders),
                Arc::clone(&overlapped),
                Arc::clone(&acquisitions),
            );
            tokio::spawn(async move {
                while acquisitions.load(Ordering::SeqCst) < ACQUISITIONS {
                    if let Some(lease) = lock.try_acquire(&r, LONG).await.unwrap() {
                        if holders.fetch_add(1, Ordering::SeqCst) != 0 {
                            overlapped.store(true, Ordering::SeqCst);
                        }
                        acquisitions.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        tokio::time::sleep(Duration::from_micros(200)).await;
                        holders.fetch_sub(1, Ordering::SeqCst);
                        assert!(lock.release(&lease).await.unwrap(), "lost a live lease");
                    } else {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        !overlapped.load(Ordering::SeqCst),
        "two contenders held the lock at once"
    );
    assert!(
        lock.try_acquire(&r, LONG).await.unwrap().is_some(),
        "left locked"
    );
}

pub async fn with_lock_releases_on_error(lock: Arc<dyn Lock>) {
    let r = resource();
    let failed: Result<(), DomainError> = with_lock(
        lock.as_ref(),
        &r,
        LONG,
        Duration::from_millis(200),
        || async { Err(DomainError::Internal("work failed".into())) },
    )
    .await;
    assert_eq!(failed, Err(DomainError::Internal("work failed".into())));
    let lease = lock
        .try_acquire(&r, LONG)
        .await
        .unwrap()
        .expect("released after the failed work");
    // While held, `with_lock` gives up with Unavailable after its wait.
    let busy = with_lock(
        lock.as_ref(),
        &r,
        LONG,
        Duration::from_millis(100),
        || async { Ok(()) },
    )
    .await;
    assert!(matches!(busy, Err(DomainError::Unavailable(_))), "{busy:?}");
    assert!(lock.release(&lease).await.unwrap());
    let ok = with_lock(
        lock.as_ref(),
        &r,
        LONG,
        Duration::from_millis(200),
        || async { Ok(42) },
    )
    .await;
    assert_eq!(ok, Ok(42));
}

fn granted(f: Fenced) -> (FencedLease, bool) {
    match f {
        Fenced::Granted { lease, renewed } => (lease, renewed),
        Fenced::Held(l) => panic!("held by {} (fence {})", l.owner, l.fence),
    }
}

pub async fn fenced_lease_has_one_owner_and_renews(lock: Arc<dyn Lock>) {
    let r = resource();
    assert_eq!(lock.fenced_holder(&r).await.unwrap(), None);
    let (a, renewed) = granted(lock.acquire_fenced(&r, "sess-a", LONG).await.unwrap());
    assert!(!renewed);
    assert_eq!(a.owner, "sess-a");
    assert!(a.fence >= 1);
    match lock.acquire_fenced(&r, "sess-b", LONG).await.unwrap() {
        Fenced::Held(h) => {
            assert_eq!((h.owner.as_str(), h.fence), ("sess-a", a.fence));
            assert!(h.ttl_left > Duration::ZERO && h.ttl_left <= LONG);
        }
        other => panic!("a second owner got {other:?}"),
    }
    let (again, renewed) = granted(lock.acquire_fenced(&r, "sess-a", LONG).await.unwrap());
    assert!(renewed, "the owner acquiring again renews");
    assert_eq!(again.fence, a.fence, "a renewal keeps the fence");
    let h = lock.fenced_holder(&r).await.unwrap().expect("held");
    assert_eq!((h.owner.as_str(), h.fence), ("sess-a", a.fence));
    // Owners may contain the separator the Redis adapter uses.
    let (odd, _) = granted(
        lock.acquire_fenced(&resource(), "a:b:c", LONG)
            .await
            .unwrap(),
    );
    assert_eq!(odd.owner, "a:b:c");
}

pub async fn fences_grow_with_every_new_owner(lock: Arc<dyn Lock>) {
    let r = resource();
    let mut last = 0;
    for owner in ["s1", "s2", "s1", "s3"] {
        let (l, _) = granted(lock.acquire_fenced(&r, owner, LONG).await.unwrap());
        assert!(l.fence > last, "fence {} after {last}", l.fence);
        last = l.fence;
        assert!(lock.release_fenced(&r, owner).await.unwrap());
    }
    // After a lapse too.
    let (l, _) = granted(
        lock.acquire_fenced(&r, "s4", Duration::from_millis(100))
            .await
            .unwrap(),
    );
    assert!(l.fence > last);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (m, renewed) = granted(lock.acquire_fenced(&r, "s4", LONG).await.unwrap());
    assert!(
        !renewed,
        "a lapsed lease is not renewed but acquired afresh"
    );
    assert!(m.fence > l.fence);
}

pub async fn fenced_release_is_owner_only(lock: Arc<dyn Lock>) {
    let r = resource();
    granted(lock.acquire_fenced(&r, "owner", LONG).await.unwrap());
    assert!(!lock.release_fenced(&r, "intruder").await.unwrap());
    assert!(!lock.release_fenced(&resource(), "owner").await.unwrap());
    assert_eq!(
        lock.fenced_holder(&r).await.unwrap().unwrap().owner,
        "owner"
    );
    assert!(lock.release_fenced(&r, "owner").await.unwrap());
    assert_eq!(lock.fenced_holder(&r).await.unwrap(), None);
    assert!(!lock.release_fenced(&r, "owner").await.unwrap());
    granted(lock.acquire_fenced(&r, "intruder", LONG).await.unwrap());
}

pub async fn fenced_lease_lapses_after_ttl(lock: Arc<dyn Lock>) {
    let r = resource();
    granted(
        lock.acquire_fenced(&r, "brief", Duration::from_millis(150))
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(lock.fenced_holder(&r).await.unwrap(), None);
    assert!(!lock.release_fenced(&r, "brief").await.unwrap());
    granted(lock.acquire_fenced(&r, "next", LONG).await.unwrap());
}

pub async fn fenced_contenders_get_one_winner_each_round(lock: Arc<dyn Lock>) {
    for _ in 0..5 {
        let r = resource();
        let tries = (0..8).map(|i| {
            let lock = Arc::clone(&lock);
            let r = r.clone();
            tokio::spawn(async move { lock.acquire_fenced(&r, &format!("c{i}"), LONG).await })
        });
        let mut winners = Vec::new();
        for t in tries {
            if let Fenced::Granted { lease, .. } = t.await.unwrap().unwrap() {
                winners.push(lease);
            }
        }
        assert_eq!(winners.len(), 1, "exactly one winner: {winners:?}");
    }
}

pub async fn live_fenced_counts_live_leases_only(lock: Arc<dyn Lock>) {
    let (a, b, brief) = (resource(), resource(), resource());
    assert_eq!(lock.live_fenced().await.unwrap(), 0);
    granted(lock.acquire_fenced(&a, "s1", LONG).await.unwrap());
    granted(lock.acquire_fenced(&b, "s2", LONG).await.unwrap());
    assert_eq!(lock.live_fenced().await.unwrap(), 2);
    // A renewal and a refused contender change nothing.
    granted(lock.acquire_fenced(&a, "s1", LONG).await.unwrap());
    assert!(matches!(
        lock.acquire_fenced(&a, "s3", LONG).await.unwrap(),
        Fenced::Held(_)
    ));
    assert_eq!(lock.live_fenced().await.unwrap(), 2);
    // A foreign release changes nothing; the owner's does.
    assert!(!lock.release_fenced(&b, "s1").await.unwrap());
    assert_eq!(lock.live_fenced().await.unwrap(), 2);
    assert!(lock.release_fenced(&b, "s2").await.unwrap());
    assert_eq!(lock.live_fenced().await.unwrap(), 1);
    // A lapsed lease is not counted, and a new owner of it is counted once.
    // Long enough that the "counted while live" check cannot lose a race with a stall.
    granted(
        lock.acquire_fenced(&brief, "s4", Duration::from_secs(1))
            .await
            .unwrap(),
    );
    assert_eq!(lock.live_fenced().await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(lock.live_fenced().await.unwrap(), 1);
    granted(lock.acquire_fenced(&brief, "s5", LONG).await.unwrap());
    granted(lock.acquire_fenced(&brief, "s5", LONG).await.unwrap());
    assert_eq!(lock.live_fenced().await.unwrap(), 2);
    // Plain leases are not fenced ones.
    let plain = lock.try_acquire(&resource(), LONG).await.unwrap();
    assert!(plain.is_some());
    assert_eq!(lock.live_fenced().await.unwrap(), 2);
    assert!(lock.release_fenced(&a, "s1").await.unwrap());
    assert!(lock.release_fenced(&brief, "s5").await.unwrap());
    assert_eq!(lock.live_fenced().await.unwrap(), 0);
}
