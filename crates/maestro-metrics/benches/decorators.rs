//! What a metered decorator costs (not a test): `cargo bench -p maestro-metrics` (release,
//! plain timing). The same in-memory repository, lock and bus, bare and metered, with the
//! Prometheus recorder installed as in the server; figures go to docs/BENCHMARKS.md by hand.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use maestro_domain::ports::{Lock, ProjectRepo};
use maestro_memory::{MemoryLock, MemoryProjectRepo};
use maestro_metrics::{MeteredLock, MeteredRepo};

const N: u32 = 200_000;
const ROUNDS: usize = 7;

/// Median over `ROUNDS` of the mean time per call of `N` calls.
async fn per_call<F, Fut>(mut f: F) -> Duration
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for i in 0..N {
            f(i).await;
        }
        rounds.push(started.elapsed() / N);
    }
    rounds.sort_unstable();
    rounds[ROUNDS / 2]
}

fn line(what: &str, bare: Duration, metered: Duration) {
    let ns = |d: Duration| d.as_secs_f64() * 1e9;
    println!(
        "{what:<28} bare {:>7.0} ns   metered {:>7.0} ns   overhead {:>6.0} ns",
        ns(bare),
        ns(metered),
        ns(metered) - ns(bare)
    );
}

fn main() {
    maestro_metrics::recorder::handle().expect("recorder installed");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let inner: Arc<dyn ProjectRepo> = Arc::new(MemoryProjectRepo::new());
        let p = maestro_testkit::fixtures::project("proj_bench", 1);
        inner.create(p.clone()).await.unwrap();
        let metered = MeteredRepo::wrap(inner.clone(), "memory", "project");
        let bare = per_call(|_| {
            let (r, id) = (inner.clone(), p.id.clone());
            async move {
                r.get(&id).await.unwrap();
            }
        })
        .await;
        let timed = per_call(|_| {
            let (r, id) = (metered.clone(), p.id.clone());
            async move {
                r.get(&id).await.unwrap();
            }
        })
        .await;
        line("ProjectRepo::get (memory)", bare, timed);

        let lock: Arc<dyn Lock> = Arc::new(MemoryLock::new());
        let metered_lock = MeteredLock::wrap(lock.clone());
        let ttl = Duration::from_secs(60);
        let bare = per_call(|_| {
            let l = lock.clone();
            async move {
                l.acquire_fenced("task-claim:bench", "s1", ttl)
                    .await
                    .unwrap();
            }
        })
        .await;
        let timed = per_call(|_| {
            let l = metered_lock.clone();
            async move {
                l.acquire_fenced("task-claim:bench", "s1", ttl)
                    .await
                    .unwrap();
            }
        })
        .await;
        line("Lock::acquire_fenced (memory)", bare, timed);
    });
}
