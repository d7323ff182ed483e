//! What every scenario shares: its flags, the server(s) it drives, and its report (p50 / p95
//! / p99, throughput, errors, lost and duplicated counts, a verdict, `--json`, an SVG chart).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use maestro_client::Client;
use serde_json::{Value, json};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Flags common to every scenario.
pub const COMMON_FLAGS: &[&str] = &["--url", "--token", "--server-bin", "--chart"];
pub const COMMON_SWITCHES: &[&str] = &["--json"];

/// `--flag value` pairs and `--switch`es of one scenario (a flag may repeat: `--url`).
pub struct Args {
    values: Vec<(String, String)>,
    switches: HashSet<String>,
}

impl Args {
    /// Parses `args`, refusing flags outside `flags`/`switches` and the common ones.
    pub fn parse(
        args: impl Iterator<Item = String>,
        flags: &[&str],
        switches: &[&str],
    ) -> Result<Self, Error> {
        let mut out = Self {
            values: Vec::new(),
            switches: HashSet::new(),
        };
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            if switches.contains(&a.as_str()) || COMMON_SWITCHES.contains(&a.as_str()) {
                out.switches.insert(a);
            } else if flags.contains(&a.as_str()) || COMMON_FLAGS.contains(&a.as_str()) {
                let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
                out.values.push((a, v));
            } else {
                return Err(format!("unknown argument {a}").into());
            }
        }
        Ok(out)
    }

    pub fn get(&self, flag: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(f, _)| f == flag)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, flag: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(f, _)| f == flag)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, switch: &str) -> bool {
        self.switches.contains(switch)
    }

    /// `flag` parsed, `default` when absent, an error naming the flag when it does not parse
    /// or is below `min`.
    pub fn num<T>(&self, flag: &str, default: T, min: T) -> Result<T, Error>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let v = match self.get(flag) {
            None => default,
            Some(s) => s
                .parse()
                .map_err(|_| format!("{flag}: '{s}' is not a number"))?,
        };
        if v < min {
            return Err(format!("{flag} must be ≥ {min}").into());
        }
        Ok(v)
    }

    pub fn json(&self) -> bool {
        self.has("--json")
    }

    pub fn chart(&self) -> Option<PathBuf> {
        self.get("--chart").map(PathBuf::from)
    }
}

/// The server(s) a scenario drives: `--url` (repeat it for several instances; clients are
/// spread over them round-robin) or `--server-bin` (started here on a free loopback port,
/// in-memory everything, no token; stopped at the end).
pub struct Target {
    /// One client per instance, in `--url` order.
    clients: Vec<Client>,
    server: Option<tokio::process::Child>,
    dir: Option<PathBuf>,
}

impl Target {
    pub async fn open(a: &Args) -> Result<Self, Error> {
        let urls = a.all("--url");
        let bin = a.get("--server-bin");
        let token = a.get("--token").map(str::to_string);
        let mut t = match (urls.is_empty(), bin) {
            (false, None) => Self {
                clients: Self::connect(&urls, token)?,
                server: None,
                dir: None,
            },
            (true, Some(bin)) => {
                let port = std::net::TcpListener::bind("127.0.0.1:0")?
                    .local_addr()?
                    .port();
                let dir = std::env::temp_dir()
                    .join(format!("maestro-load-{}-{port}", std::process::id()));
                Self {
                    clients: Self::connect(&[format!("http://127.0.0.1:{port}")], None)?,
                    server: Some(spawn_server(bin, port, &dir)?),
                    dir: Some(dir),
                }
            }
            _ => return Err("pass --url URL (once per instance) or --server-bin PATH".into()),
        };
        for c in t.clients.clone() {
            let started = Instant::now();
            while c.health().await.is_err() {
                if started.elapsed() > Duration::from_secs(15) {
                    t.stop().await;
                    return Err(format!("{} did not answer /health", c.base_url()).into());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(t)
    }

    /// The process id of the server started with `--server-bin`.
    pub fn server_pid(&self) -> Option<u32> {
        self.server.as_ref().and_then(tokio::process::Child::id)
    }

    fn connect(urls: &[String], token: Option<String>) -> Result<Vec<Client>, Error> {
        urls.iter()
            .map(|u| {
                Client::builder(u)
                    .maybe_token(token.clone())
                    .build()
                    .map_err(|e| format!("--url {u}: {e}").into())
            })
            .collect()
    }

    /// One client per instance (never empty).
    pub fn clients(&self) -> Vec<Client> {
        self.clients.clone()
    }

    /// The client of the `i`-th worker (round-robin over the instances).
    pub fn client(&self, i: usize) -> Client {
        self.clients[i % self.clients.len()].clone()
    }

    pub async fn stop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill().await;
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The server binary on `port` with its data in `dir`, no token (loopback), killed on drop.
pub fn spawn_server(bin: &str, port: u16, dir: &Path) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(bin)
        .env("PORT", port.to_string())
        .env("DATA_DIR", dir.join("data"))
        .env("SESSION_DIR", dir.join("sessions"))
        .env("LOG_LEVEL", "warn")
        .env_remove("MAESTRO_API_TOKEN")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

/// The `p`-th percentile of ascending `sorted` (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64) as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Two decimals (0.01 ms resolution: baselines are well under a millisecond).
fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// What a scenario measured, and its verdict: it passes when nothing errored, nothing was
/// lost or duplicated and every scenario-specific check holds.
pub struct Report {
    pub scenario: &'static str,
    /// What was run (clients, rounds, …), printed and in the JSON.
    pub params: BTreeMap<&'static str, Value>,
    /// What `latencies_ms` measures, for the text and the chart.
    pub latency_of: &'static str,
    pub latencies_ms: Vec<f64>,
    /// Operations counted for the throughput.
    pub operations: usize,
    pub elapsed: Duration,
    pub errors: usize,
    pub lost: usize,
    pub duplicated: usize,
    /// Scenario-specific facts (`true` = as required).
    pub checks: Vec<(&'static str, bool)>,
    /// Other figures (into the JSON as they are).
    pub extra: BTreeMap<&'static str, Value>,
}

impl Report {
    pub fn new(scenario: &'static str, latency_of: &'static str) -> Self {
        Self {
            scenario,
            params: BTreeMap::new(),
            latency_of,
            latencies_ms: Vec::new(),
            operations: 0,
            elapsed: Duration::ZERO,
            errors: 0,
            lost: 0,
            duplicated: 0,
            checks: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    pub fn pass(&self) -> bool {
        self.errors == 0
            && self.lost == 0
            && self.duplicated == 0
            && self.checks.iter().all(|c| c.1)
    }

    pub fn to_json(&self) -> Value {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let mut v = json!({
            "scenario": self.scenario,
            "latency": self.latency_of,
            "samples": sorted.len(),
            "p50_ms": round2(percentile(&sorted, 50.0)),
            "p95_ms": round2(percentile(&sorted, 95.0)),
            "p99_ms": round2(percentile(&sorted, 99.0)),
            "max_ms": round2(sorted.last().copied().unwrap_or(0.0)),
            "operations": self.operations,
            "throughput_per_s": round2(self.operations as f64 / self.elapsed.as_secs_f64().max(1e-9)),
            "errors": self.errors,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "checks": self.checks.iter().map(|(k, ok)| ((*k).to_string(), json!(ok))).collect::<serde_json::Map<_, _>>(),
            "verdict": if self.pass() { "pass" } else { "fail" },
        });
        for (k, val) in self.params.iter().chain(self.extra.iter()) {
            v[*k] = val.clone();
        }
        v
    }

    /// Prints the report (one JSON object with `json`), writes the chart if asked; returns
    /// whether the verdict passed.
    pub fn finish(&self, a: &Args) -> Result<bool, Error> {
        let v = self.to_json();
        if a.json() {
            println!("{v}");
        } else {
            let params: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("{} ({})", self.scenario, params.join(", "));
            println!(
                "  {}: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms ({} samples)",
                self.latency_of, v["p50_ms"], v["p95_ms"], v["p99_ms"], v["max_ms"], v["samples"]
            );
            println!(
                "  {} operations in {:.1} s: {} /s; errors {}, lost {}, duplicated {}",
                self.operations,
                self.elapsed.as_secs_f64(),
                v["throughput_per_s"],
                self.errors,
                self.lost,
                self.duplicated
            );
            for (k, val) in &self.extra {
                println!("  {k}: {val}");
            }
            for (k, ok) in &self.checks {
                println!("  {k}: {}", if *ok { "yes" } else { "NO" });
            }
            println!("  verdict: {}", v["verdict"].as_str().unwrap_or("fail"));
        }
        if let Some(path) = a.chart() {
            crate::chart::latency_cdf(&path, self)?;
        }
        Ok(self.pass())
    }
}

/// A fresh project for a run.
pub async fn new_project(c: &Client, name: &str) -> Result<maestro_domain::model::Project, Error> {
    Ok(c.create_project(&maestro_client::requests::ProjectInput {
        name: Some(name.into()),
        working_dir: Some("/tmp/maestro-load".into()),
        description: None,
    })
    .await?)
}

/// A small deterministic generator (xorshift64*), so runs need no `rand` and repeat.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n` (`n` ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1) as u64) as usize
    }
}

/// Milliseconds of `d`.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident memory of process `pid` in KiB (Linux).
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}
