// Socket.IO fan-out load tool: connects N `/mobile` clients of one project to a freshly started
// maestro-server, then times REST mutations until the LAST client has received the event.
//
//   SERVER_BIN=target/release/maestro-server node load.mjs [clients=1000] [mutations=30]
//
// Prints p50/p99/max fan-out latency and the server's RSS per idle connection. Everything runs
// on loopback; the run is bounded in clients, mutations and time and stops by itself.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { io } from "socket.io-client";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

// Worker: hosts a share of the clients and reports when its last client got each mutation.
if (!isMainThread) {
  const { url, projectId, count } = workerData;
  const clients = [];
  for (let i = 0; i < count; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 100); j++) {
      const s = io(`${url}/mobile`, {
        transports: ["websocket"],
        auth: { projectId },
        reconnection: false,
        forceNew: true,
      });
      clients.push(s);
      batch.push(new Promise((ok, fail) => (s.once("connect", ok), s.once("connect_error", fail))));
    }
    await Promise.all(batch);
  }
  const remaining = new Map();
  for (const c of clients) {
    c.on("task:created", (env) => {
      const left = (remaining.get(env.data.title) ?? count) - 1;
      remaining.set(env.data.title, left);
      if (left === 0) parentPort.postMessage({ title: env.data.title, at: performance.timeOrigin + performance.now() });
    });
  }
  parentPort.postMessage({ ready: true });
  parentPort.on("message", (m) => {
    if (m === "close") {
      for (const c of clients) c.close();
      process.exit(0);
    }
  });
}

// Workers stop here (they only run the block above).
if (!isMainThread) await new Promise(() => {});

const N = Number(process.argv[2] ?? 1000);
const MUTATIONS = Number(process.argv[3] ?? 30);
const SERVER_BIN = process.env.SERVER_BIN ?? "target/release/maestro-server";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const port = await new Promise((ok) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => ok(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), "maestro-load-"));
const server = spawn(SERVER_BIN, [], {
  env: { ...process.env, PORT: String(port), DATA_DIR: join(dir, "data"), LOG_LEVEL: "warn" },
  stdio: ["ignore", "ignore", "inherit"],
});
const url = `http://127.0.0.1:${port}`;
const rssKb = () => {
  const m = readFileSync(`/proc/${server.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/);
  return Number(m[1]);
};
const api = async (method, path, body) => {
  const r = await fetch(url + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return r.json();
};
const hardStop = setTimeout(() => {
  console.error("load run exceeded 10 minutes; stopping");
  server.kill("SIGKILL");
  process.exit(2);
}, 600_000);

try {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url + "/health")).ok) break;
    } catch {}
    await sleep(50);
  }
  const project = await api("POST", "/api/projects", { name: "load" });
  await sleep(300);
  const rssIdle = rssKb();

  const WORKERS = Number(process.env.LOAD_WORKERS ?? 2);
  const workers = [];
  const ready = [];
  for (let w = 0; w < WORKERS; w++) {
    const count = Math.floor(N / WORKERS) + (w < N % WORKERS ? 1 : 0);
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { url, projectId: project.id, count },
    });
    workers.push(worker);
    ready.push(new Promise((ok) => worker.once("message", ok)));
  }
  await Promise.all(ready);
  await sleep(1000);
  const rssConnected = rssKb();

  const latencies = [];
  const restTimes = [];
  for (let m = 0; m < MUTATIONS; m++) {
    const title = `t${m}`;
    const reports = workers.map(
      (w) => new Promise((ok) => {
        const h = (msg) => {
          if (msg.title === title) {
            w.off("message", h);
            ok(msg.at);
          }
        };
        w.on("message", h);
      }),
    );
    const t0 = performance.timeOrigin + performance.now();
    await api("POST", "/api/tasks", { projectId: project.id, title });
    restTimes.push(performance.timeOrigin + performance.now() - t0);
    const last = Math.max(...(await Promise.all(reports)));
    latencies.push(last - t0);
    await sleep(50);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const perConn = ((rssConnected - rssIdle) * 1024) / N;
  const result = {
    clients: N,
    mutations: MUTATIONS,
    p50_ms: +pct(50).toFixed(1),
    p99_ms: +pct(99).toFixed(1),
    max_ms: +latencies[latencies.length - 1].toFixed(1),
    rss_idle_mib: +(rssIdle / 1024).toFixed(1),
    rss_connected_mib: +(rssConnected / 1024).toFixed(1),
    rss_per_connection_kb: +(perConn / 1024).toFixed(1),
    rest_p50_ms: +restTimes.sort((a, b) => a - b)[Math.floor(restTimes.length / 2)].toFixed(1),
    client_workers: WORKERS,
  };
  console.log(JSON.stringify(result));
  for (const w of workers) w.postMessage("close");
} finally {
  clearTimeout(hardStop);
  server.kill("SIGTERM");
}
