//! Load scenarios for Maestro Server. Without a scenario name: the Socket.IO fan-out
//! benchmark (issue 5); `claims`: task-claim contention ([`claims`]).
//!
//! Fan-out:
//! Starts a `maestro-server` binary on a free loopback port with a fresh data directory,
//! connects N `/mobile` clients of one project over WebSocket (a minimal Engine.IO v4 /
//! Socket.IO v5 client: open, namespace connect with `auth`, ping/pong, event frames), then
//! makes M `POST /api/tasks` calls one after another and reports, for each, the time from
//! sending the request until the LAST client has the `task:created` event: p50/p99/max, plus
//! the server's RSS per idle connection. Everything stays on loopback and is bounded.
//!
//! ```text
//! maestro-load <path/to/maestro-server> [clients=1000] [mutations=30]
//! maestro-load claims (--url URL [--token T] | --server-bin PATH) [--rounds 20] [--contenders 16] [--json]
//! ```

mod claims;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Counts clients that saw the current mutation's title.
struct Round {
    title: std::sync::Mutex<String>,
    seen: AtomicUsize,
    all: Notify,
    clients: usize,
}

async fn client(
    port: u16,
    project: String,
    round: Arc<Round>,
    ready: tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<(), Error> {
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let mut connected = false;
    while let Some(msg) = ws.next().await {
        let Message::Text(text) = msg? else { continue };
        let text = text.as_str();
        if text.starts_with('0') {
            let auth = json!({"projectId": project});
            ws.send(Message::Text(format!("40/mobile,{auth}").into()))
                .await?;
        } else if text == "2" {
            ws.send(Message::Text("3".into())).await?;
        } else if text.starts_with("40/mobile") && !connected {
            connected = true;
            let _ = ready.send(());
        } else if text.starts_with("44/mobile") {
            return Err(format!("connect refused: {text}").into());
        } else if let Some(payload) = text.strip_prefix("42/mobile,") {
            let Ok(Value::Array(args)) = serde_json::from_str::<Value>(payload) else {
                continue;
            };
            if args.first().and_then(Value::as_str) != Some("task:created") {
                continue;
            }
            let title = args
                .get(1)
                .and_then(|e| e["data"]["title"].as_str())
                .unwrap_or_default()
                .to_string();
            let current = round.title.lock().map(|t| t.clone()).unwrap_or_default();
            if title == current && round.seen.fetch_add(1, Ordering::SeqCst) + 1 == round.clients {
                round.all.notify_one();
            }
        }
    }
    Ok(())
}

/// The server binary on `port` with its data in `dir`, no token (loopback), killed on drop.
fn spawn_server(
    bin: &str,
    port: u16,
    dir: &std::path::Path,
) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(bin)
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.join("data"))
        .env("LOG_LEVEL", "warn")
        .env_remove("MAESTRO_API_TOKEN")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64) as usize;
    sorted[i.min(sorted.len() - 1)]
}

// Long on purpose: the load run's steps in the order they happen (set up, connect, measure,
// report), each a few lines; splitting would only scatter the script.
#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("claims") {
        args.next();
        if !claims::run(args).await? {
            std::process::exit(1);
        }
        return Ok(());
    }
    let bin = args
        .next()
        .ok_or("usage: maestro-load <maestro-server binary> [clients] [mutations]")?;
    let clients: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let mutations: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = std::env::temp_dir().join(format!("maestro-load-{}", std::process::id()));
    let mut server = spawn_server(&bin, port, &dir)?;
    let pid = server.id().ok_or("server exited")?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(15) {
            return Err("server did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let project: Value = http
        .post(format!("{base}/api/projects"))
        .json(&json!({"name": "load"}))
        .send()
        .await?
        .json()
        .await?;
    let project_id = project["id"].as_str().ok_or("no project id")?.to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = rss_kb(pid).unwrap_or(0);

    let round = Arc::new(Round {
        title: std::sync::Mutex::new(String::new()),
        seen: AtomicUsize::new(0),
        all: Notify::new(),
        clients,
    });
    let (ready, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(clients);
    for i in 0..clients {
        tasks.push(tokio::spawn(client(
            port,
            project_id.clone(),
            round.clone(),
            ready.clone(),
        )));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for _ in 0..clients {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .map_err(|_| "clients did not all connect within 60 s")?
            .ok_or("client tasks ended")?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_connected = rss_kb(pid).unwrap_or(0);

    let mut latencies = Vec::with_capacity(mutations);
    for m in 0..mutations {
        let title = format!("load-{m}");
        if let Ok(mut t) = round.title.lock() {
            *t = title.clone();
        }
        round.seen.store(0, Ordering::SeqCst);
        let all = round.all.notified();
        tokio::pin!(all);
        all.as_mut().enable();
        let t0 = Instant::now();
        http.post(format!("{base}/api/tasks"))
            .json(&json!({"projectId": project_id, "title": title}))
            .send()
            .await?;
        tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .map_err(|_| "not every client got the event within 30 s")?;
        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort_by(f64::total_cmp);
    let per_conn_kb = (rss_connected.saturating_sub(rss_idle)) as f64 / clients as f64;
    println!(
        "{}",
        json!({
            "clients": clients,
            "mutations": mutations,
            "p50_ms": (percentile(&latencies, 50.0) * 10.0).round() / 10.0,
            "p99_ms": (percentile(&latencies, 99.0) * 10.0).round() / 10.0,
            "max_ms": (latencies[latencies.len() - 1] * 10.0).round() / 10.0,
            "rss_idle_mib": rss_idle as f64 / 1024.0,
            "rss_connected_mib": rss_connected as f64 / 1024.0,
            "rss_per_connection_kb": (per_conn_kb * 10.0).round() / 10.0,
        })
    );
    for t in tasks {
        t.abort();
    }
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
