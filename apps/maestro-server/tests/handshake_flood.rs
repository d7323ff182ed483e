//! An unauthenticated Socket.IO handshake flood against the real binary (token mode): keep-alive
//! clients on 48 loopback addresses open Engine.IO sessions as fast as they can for a bounded
//! time. The server admits at most `MAX_PENDING_PER_CLIENT` new sessions per address and
//! `MAX_PENDING_TOTAL` in all per `CONNECT_TIMEOUT`, answers the rest `429` in the error shape,
//! and its resident memory stays under [`RSS_CEILING_MB`] (docs/BENCHMARKS.md records the
//! figures). Before the limit, one such flood held 3.8 GB.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use maestro_http::realtime::{MAX_PENDING_PER_CLIENT, MAX_PENDING_TOTAL};

mod local;
mod private_redis;

/// Source addresses of the flood (127.0.2.1 …): more than `MAX_PENDING_TOTAL` /
/// `MAX_PENDING_PER_CLIENT`, so the total cap is reached too.
const CLIENTS: u8 = 48;
/// Requests per client at most, and how long the flood lasts at most.
const MAX_REQUESTS: usize = 4_000;
const FLOOD: Duration = Duration::from_secs(6);
/// The resident memory the server must stay under during and after the flood.
const RSS_CEILING_MB: u64 = 128;

fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_handshake_flood_is_capped_and_memory_stays_bounded() {
    let port = private_redis::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut server = local::command(port, dir.path())
        .env("MAESTRO_API_TOKEN", "flood-test-token-8d2f6a1c4e9b7035")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    local::wait_up(&reqwest::Client::new(), &base).await;
    let before = rss_mb(server.id());

    let started = Instant::now();
    let flood = (1..=CLIENTS).map(|n| {
        let url = format!("{base}/socket.io/?EIO=4&transport=polling");
        async move {
            let http = reqwest::Client::builder()
                .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 2, n)))
                .build()
                .unwrap();
            let (mut opened, mut refused) = (0usize, 0usize);
            for _ in 0..MAX_REQUESTS {
                if started.elapsed() > FLOOD {
                    break;
                }
                let r = http.get(&url).send().await.unwrap();
                match r.status().as_u16() {
                    200 => opened += 1,
                    429 => {
                        let body: serde_json::Value = r.json().await.unwrap();
                        assert_eq!(body["error"], true, "error shape: {body}");
                        refused += 1;
                    }
                    other => panic!("unexpected status {other}"),
                }
            }
            (opened, refused)
        }
    });
    let results = futures_util::future::join_all(flood).await;
    let during = rss_mb(server.id());
    let opened: usize = results.iter().map(|r| r.0).sum();
    let refused: usize = results.iter().map(|r| r.1).sum();
    eprintln!(
        "handshake flood: {opened} sessions opened, {refused} refused in {:?}; RSS {before} MB \
         before, {during} MB after",
        started.elapsed()
    );
    for (n, (o, _)) in results.iter().enumerate() {
        assert!(
            *o <= MAX_PENDING_PER_CLIENT,
            "client {n} opened {o} sessions"
        );
    }
    assert!(
        opened <= MAX_PENDING_TOTAL,
        "{opened} sessions opened in all"
    );
    assert!(refused > 0, "the flood was never refused");
    assert!(
        during < RSS_CEILING_MB,
        "resident memory {during} MB (ceiling {RSS_CEILING_MB} MB)"
    );
    let _ = server.kill();
    let _ = server.wait();
}
