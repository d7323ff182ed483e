// Mail wait wake-up latency over HTTP (issue 6): a client long-polls GET /api/mail/wait/:id,
// another POSTs a mail to it; we time from the POST being sent until the waiting request
// returns. Runs against two maestro-server processes sharing one Redis (the wait on one, the
// send on the other), so the wake-up crosses processes through Redis Streams. Also times a
// bare Redis PING round trip (redis-cli) for reference. Loopback only; bounded iterations.
//
//   node tests/bench/mail-wait.mjs [iterations=200]     (needs target/release/maestro-server, Redis on 6379)
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";

const N = Number(process.argv[2] ?? 200);
const BIN = process.env.SERVER_BIN ?? "target/release/maestro-server";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
const prefix = `bench-${process.pid}:`;
async function start() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "maestro-mailbench-"));
  const proc = spawn(BIN, [], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: join(dir, "data"),
      REDIS_ENABLED: "true",
      REDIS_KEY_PREFIX: prefix,
      MAIL_BACKEND: "redis",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url + "/health")).ok) return { proc, url };
    } catch {}
    await sleep(50);
  }
  throw new Error("server did not start");
}
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const a = await start();
const b = await start();
const stop = setTimeout(() => process.exit(2), 300_000);
try {
  const waits = [];
  for (let i = 0; i < N; i++) {
    const since = Date.now() - 1;
    const waiting = fetch(`${a.url}/api/mail/wait/sess_b?projectId=proj_bench&timeout=10000&since=${since}`);
    await sleep(15);
    const t0 = performance.now();
    await fetch(`${b.url}/api/mail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        projectId: "proj_bench",
        fromSessionId: "sess_a",
        toSessionId: "sess_b",
        type: "notification",
        subject: `m${i}`,
      }),
    });
    const got = await (await waiting).json();
    waits.push(performance.now() - t0);
    if (got.length < 1) throw new Error("wait returned nothing");
  }
  waits.sort((x, y) => x - y);
  // Bare Redis round trip in the same run: one client, PING, p50 as reported by redis-benchmark.
  const bench = execFileSync("redis-benchmark", ["-t", "ping_mbulk", "-n", "20000", "-c", "1", "-q"], {
    encoding: "utf8",
  });
  const p50 = Number((bench.match(/p50=([0-9.]+)/) ?? [])[1]);
  console.log(
    JSON.stringify({
      iterations: N,
      wake_p50_ms: +pct(waits, 50).toFixed(2),
      wake_p99_ms: +pct(waits, 99).toFixed(2),
      redis_ping_p50_ms: p50,
    }),
  );
} finally {
  clearTimeout(stop);
  a.proc.kill("SIGTERM");
  b.proc.kill("SIGTERM");
}
