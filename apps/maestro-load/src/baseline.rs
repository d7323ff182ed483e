//! `maestro-load baseline`: what the machine does without Maestro, measured the same way in
//! the same run, so the scenarios' figures have something to be compared with:
//! - `redis`: a bare `PING` round trip to Redis over one TCP connection (RESP by hand);
//! - `http`: an axum hello-world in this process, called with the same HTTP client stack
//!   (`reqwest`) `maestro-client` uses, one request after another.
//!
//! ```text
//! maestro-load baseline [--redis redis://127.0.0.1:6379] [--requests 2000] [--json]
//! ```

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Args, Error, Report, ms};

pub async fn run(args: impl Iterator<Item = String>) -> Result<bool, Error> {
    let a = Args::parse(args, &["--redis", "--requests"], &[])?;
    let n: usize = a.num("--requests", 2000, 1)?;
    let redis = a.get("--redis").unwrap_or("redis://127.0.0.1:6379");
    let mut pass = redis_ping(redis, n).await?.finish(&a)?;
    pass &= hello_world(n).await?.finish(&a)?;
    Ok(pass)
}

async fn redis_ping(url: &str, n: usize) -> Result<Report, Error> {
    let addr = url
        .trim_start_matches("redis://")
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await?;
    conn.set_nodelay(true)?;
    let mut report = Report::new("baseline-redis", "PING round trip");
    let mut buf = [0u8; 64];
    let started = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        conn.write_all(b"PING\r\n").await?;
        let got = conn.read(&mut buf).await?;
        if &buf[..got] == b"+PONG\r\n" {
            report.latencies_ms.push(ms(t0.elapsed()));
        } else {
            report.errors += 1;
        }
    }
    report.elapsed = started.elapsed();
    report.operations = n;
    report.params.insert("redis", addr.into());
    Ok(report)
}

async fn hello_world(n: usize) -> Result<Report, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/");
    let mut report = Report::new("baseline-http", "axum hello-world round trip");
    let started = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        let ok = match http.get(&url).send().await {
            Ok(r) => r.status().is_success() && r.text().await.is_ok(),
            Err(_) => false,
        };
        if ok {
            report.latencies_ms.push(ms(t0.elapsed()));
        } else {
            report.errors += 1;
        }
    }
    report.elapsed = started.elapsed();
    report.operations = n;
    server.abort();
    Ok(report)
}
