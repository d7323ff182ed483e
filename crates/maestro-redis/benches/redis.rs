//! Redis adapter figures (not a test): `cargo bench -p maestro-redis` (release, plain timing).
//!
//! Against `MAESTRO_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), under a fresh key
//! prefix: bare `PING`/`SET` round trips, lock acquire/release (alone and with 50 contenders)
//! and mail wait wake-up latency across two backends ("processes").
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fred::prelude::*;
use maestro_domain::model::{MailMessage, MailMessageType};
use maestro_domain::ports::{InboxQuery, Lock};
use maestro_redis::{RedisBackend, RedisConfig};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  (n={})",
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6,
        samples.len()
    )
}

fn mail(id: String, project: &str, to: &str, created_at: i64) -> MailMessage {
    MailMessage {
        id,
        project_id: project.into(),
        from_session_id: "bench_sender".into(),
        to_session_id: Some(to.into()),
        reply_to_mail_id: None,
        kind: MailMessageType::Notification,
        subject: "wake".into(),
        body: serde_json::json!({"n": created_at}),
        created_at,
    }
}

async fn bare_round_trips(url: &str, prefix: &str) {
    let client = Builder::from_config(Config::from_url(url).unwrap())
        .build()
        .unwrap();
    client.init().await.unwrap();
    for _ in 0..500 {
        let _: String = client.ping(None).await.unwrap();
    }
    let mut ping = Vec::new();
    for _ in 0..5_000 {
        let t = Instant::now();
        let _: String = client.ping(None).await.unwrap();
        ping.push(t.elapsed());
    }
    println!("bare PING (fred, sequential)         {}", percentiles(ping));
    let mut set = Vec::new();
    for i in 0..5_000 {
        let t = Instant::now();
        let _: Option<String> = client
            .set(
                format!("{prefix}bench:set:{i}"),
                "v",
                Some(Expiration::PX(5_000)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .unwrap();
        set.push(t.elapsed());
    }
    println!("bare SET NX PX (fred, sequential)    {}", percentiles(set));
    let _ = client.quit().await;
}

async fn locks(backend: &RedisBackend) {
    let lock = backend.lock();
    let mut cycle = Vec::new();
    for i in 0..5_000 {
        let t = Instant::now();
        let lease = lock
            .try_acquire(&format!("solo{}", i % 16), Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
        assert!(lock.release(&lease).await.unwrap());
        cycle.push(t.elapsed());
    }
    println!(
        "lock acquire+release, uncontended    {}",
        percentiles(cycle)
    );

    for (label, resources) in [("one resource", 1usize), ("50 resources", 50)] {
        let cycles = Arc::new(AtomicU64::new(0));
        let attempts = Arc::new(AtomicU64::new(0));
        let run = Duration::from_secs(3);
        let until = Instant::now() + run;
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let lock: Arc<dyn Lock> = lock.clone();
                let (cycles, attempts) = (cycles.clone(), attempts.clone());
                let resource = format!("contended{}", i % resources);
                tokio::spawn(async move {
                    while Instant::now() < until {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        if let Some(lease) = lock
                            .try_acquire(&resource, Duration::from_secs(10))
                            .await
                            .unwrap()
                        {
                            assert!(lock.release(&lease).await.unwrap());
                            cycles.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let secs = run.as_secs_f64();
        println!(
            "lock, 50 tasks, {label:<13}        {:>8.0} acquire+release/s, {:>8.0} attempts/s",
            cycles.load(Ordering::Relaxed) as f64 / secs,
            attempts.load(Ordering::Relaxed) as f64 / secs,
        );
    }
}

async fn mail_wake(waiting: &RedisBackend, sending: &RedisBackend) {
    let project = format!("bench_proj_{}", now_ms());
    let mut samples = Vec::new();
    // The first waits open their blocking connections; the next ones reuse them.
    for i in 0..320 {
        let session = format!("bench_sess_{i}");
        let since = now_ms();
        let waiter = {
            let repo = waiting.mail();
            let q = InboxQuery {
                project_id: project.clone(),
                session_id: session.clone(),
                kind: None,
                since: Some(since),
            };
            tokio::spawn(async move {
                let got = repo.wait_inbox(&q, Duration::from_secs(10)).await.unwrap();
                (got, Instant::now())
            })
        };
        // Let the waiter reach XREAD BLOCK.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let sent = Instant::now();
        sending
            .mail()
            .create(mail(
                format!("bench_mail_{since}_{i}"),
                &project,
                &session,
                since + 1,
            ))
            .await
            .unwrap();
        let (got, woke) = waiter.await.unwrap();
        assert_eq!(got.len(), 1);
        if i >= 20 {
            samples.push(woke.duration_since(sent));
        }
    }
    println!(
        "mail wait wake-up (store on B -> wait on A returns) {}",
        percentiles(samples)
    );
}

fn main() {
    let url =
        std::env::var("MAESTRO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let prefix = format!("mtest:{}:bench:", now_ms() / 1000);
        let a = match RedisBackend::connect_with(RedisConfig::new(&url, &prefix)).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("benchmark skipped: Redis at {url} unreachable: {e}");
                return;
            }
        };
        let b = RedisBackend::connect_with(RedisConfig::new(&url, &prefix))
            .await
            .unwrap();
        println!("Redis benchmarks against {url} (2 tokio workers)");
        bare_round_trips(&url, &prefix).await;
        locks(&a).await;
        mail_wake(&a, &b).await;
    });
}
