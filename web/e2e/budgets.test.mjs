// Budgets of issue 13, measured against the real server at the phone viewport, printed and
// written to the "Web app" section of docs/BENCHMARKS.md (with `MAESTRO_WRITE_DOCS=1`, as
// `just bench-web` sets; otherwise to target/web-e2e/BENCHMARKS.md, so a test run changes no
// tracked file):
// - gzipped JavaScript on first load ≤ 150 KB;
// - first meaningful render (first `state:sync` snapshot on screen) ≤ 1 s;
// - a board of 1,000 tasks stays responsive (virtualised list).
//
// What is deterministic is asserted: the bytes of JavaScript, that the Markdown renderer loads
// lazily, that the list is virtualised. Timings are not: they depend on the machine and its load,
// so a timing over its budget is reported (printed loudly and marked "over" in the section), not a
// test failure. `WEB_BUDGETS_STRICT=1` (as `just bench-web` sets) turns an exceeded timing into a
// failure for someone measuring on purpose.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { OUTPUT, WRITE_DOCS, launch, project, withApp } from "./harness.mjs";

const JS_BUDGET = 150 * 1000; // bytes, gzipped
const FMR_BUDGET = 1000; // ms
const BOARD_RENDER_BUDGET = 1000; // ms
const SCROLL_FRAME_BUDGET = 50; // ms, p95 of one scroll step until the next frame
const LIVE_BUDGET = 1000; // ms, REST write → row on screen at 1,000 tasks
const FIRST_LOAD_BYTES = 130 * 1000; // bytes on the wire, first visit (issue 27)
const SLOW_FMR_BUDGET = 2000; // ms, first render at 400 ms RTT and 50 kB/s (issue 27)

const results = {};
const STRICT = process.env.WEB_BUDGETS_STRICT === "1";
const over = [];

/** Records a timing against its budget: "within" or "over"; only strict runs fail on it. */
function timing(name, measured, limit) {
  const ok = measured !== null && measured <= limit;
  if (!ok) {
    over.push(`${name}: ${measured} ms > ${limit} ms`);
    console.log(`# !!! over budget: ${name}: ${measured} ms > ${limit} ms${STRICT ? "" : " (reported, not failed; WEB_BUDGETS_STRICT=1 fails)"}`);
  }
  if (STRICT) assert.ok(ok, `${name}: ${measured} ms > ${limit} ms`);
  return ok ? "within" : "**over**";
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const r1 = (x) => Math.round(x * 10) / 10;

const title = (i) =>
  `Task ${String(i).padStart(4, "0")}: ${["parse", "index", "render", "sync", "test"][i % 5]} the ${["board", "inbox", "session", "timeline"][i % 4]}`;

/** n tasks: every 10th a root ("epic"), the 9 after it its children; a few sessions. */
async function seed(server, p, n, { sessions = 0 } = {}) {
  const ids = [];
  for (let i = 0; i < n; i += 10) {
    ids[i] = (await server.api("POST", "/api/tasks", { projectId: p.id, title: `Epic ${i / 10}`, priority: "high" })).id;
  }
  const todo = [];
  for (let i = 0; i < n; i++) if (i % 10 !== 0) todo.push(i);
  const worker = async () => {
    for (let i = todo.shift(); i !== undefined; i = todo.shift()) {
      const t = await server.api("POST", "/api/tasks", {
        projectId: p.id,
        title: title(i),
        priority: ["high", "medium", "low"][i % 3],
        parentId: ids[i - (i % 10)],
      });
      ids[i] = t.id;
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  for (let i = 0; i < sessions; i++) {
    const s = await server.api("POST", "/api/sessions", { projectId: p.id, taskIds: [ids[(i * 10) % n]], name: `Agent ${i}`, status: "working" });
    if (i === 0) await server.api("PATCH", `/api/sessions/${s.id}`, { needsInput: { active: true, message: "Proceed?" } });
  }
  assert.equal(ids.filter(Boolean).length, n);
  return ids;
}

/** One cold visit: a fresh browser profile (empty HTTP cache, no service worker). */
async function coldLoad(url, ready) {
  const b = await launch();
  try {
    const scripts = new Map();
    b.page.on("response", async (r) => {
      if (r.request().resourceType() !== "script") return;
      try {
        const body = await r.body();
        scripts.set(new URL(r.url()).pathname, { raw: body.length, gzip: gzipSync(body).length, encoding: r.headers()["content-encoding"] ?? "identity" });
      } catch {}
    });
    const t0 = Date.now();
    await b.page.goto(url);
    await ready(b.page);
    const wall = Date.now() - t0;
    const marks = await b.page.evaluate(() => {
      const get = (n) => performance.getEntriesByName(n)[0]?.startTime ?? null;
      const nav = performance.getEntriesByType("navigation")[0];
      return {
        fmr: get("maestro:first-sync-rendered"),
        fcp: get("first-contentful-paint"),
        connected: get("maestro:socket-connected"),
        synced: get("maestro:sync-received"),
        phases: {
          response: nav?.responseEnd,
          domInteractive: nav?.domInteractive,
          config: get("maestro:auth-config"),
          open: get("maestro:socket-open"),
          connected: get("maestro:socket-connected"),
          synced: get("maestro:sync-received"),
          rendered: get("maestro:first-sync-rendered"),
        },
      };
    });
    await b.page.waitForTimeout(300); // late script responses
    return { ...marks, wall, scripts, page: b.page, close: () => b.close() };
  } catch (e) {
    // Say what the cold browser showed: the harness's own page is another one.
    e.message += `\n--- cold browser errors ---\n${b.errors.join("\n")}`;
    try {
      const text = await b.page.locator("body").innerText({ timeout: 2000 });
      e.message += `\n--- cold browser text ---\n${text.slice(0, 2000)}`;
      const shot = join(tmpdir(), `maestro-cold-failure-${Date.now()}.png`);
      await b.page.screenshot({ path: shot, timeout: 5000 });
      e.message += `\n(cold browser screenshot: ${shot})`;
    } catch {}
    await b.close();
    throw e;
  }
}

const RUNS = 3;

test("first load: gzipped JavaScript and first meaningful render", async () => {
  await withApp({}, async ({ server, page }) => {
    const p = await project(server, "Budget project");
    await seed(server, p, 20, { sessions: 5 });
    const url = `${server.url}/projects/${p.id}`;
    const ready = (pg) => pg.locator(".stat-tasks .stat-n", { hasText: "20" }).waitFor();

    const cold = [];
    let scripts;
    for (let i = 0; i < RUNS; i++) {
      const run = await coldLoad(url, ready);
      await run.close();
      assert.ok(run.fmr !== null, "the app did not mark its first render");
      cold.push(run);
      console.log(`# cold run ${i + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(run.phases).map(([k, v]) => [k, v == null ? null : Math.round(v)])))}`);
      scripts ??= run.scripts;
    }
    const gzip = [...scripts.values()].reduce((a, s) => a + s.gzip, 0);
    const raw = [...scripts.values()].reduce((a, s) => a + s.raw, 0);
    assert.ok(scripts.size > 0, "no script was loaded");
    assert.ok(![...scripts.keys()].some((k) => k.includes("markdown")), "the Markdown renderer must load lazily");

    // Warm: reloads with the HTTP cache and the service worker in place.
    await page.goto(url);
    await ready(page);
    const warm = [];
    for (let i = 0; i < 5; i++) {
      await page.reload();
      await ready(page);
      warm.push(await page.evaluate(() => performance.getEntriesByName("maestro:first-sync-rendered")[0]?.startTime ?? null));
    }
    const fmrs = cold.map((c) => c.fmr);
    const mid = cold.find((c) => c.fmr === median(fmrs));
    Object.assign(results, {
      jsFiles: [...scripts.keys()],
      jsRaw: raw,
      jsGzip: gzip,
      jsEncoding: [...new Set([...scripts.values()].map((s) => s.encoding))].join(", "),
      fmrCold: r1(median(fmrs)),
      fmrColdMax: r1(Math.max(...fmrs)),
      fcpCold: mid.fcp === null ? null : r1(mid.fcp),
      connectedCold: mid.connected === null ? null : r1(mid.connected),
      syncedCold: mid.synced === null ? null : r1(mid.synced),
      fmrColdWall: mid.wall,
      fmrWarmMedian: r1(median(warm)),
      fmrWarmMax: r1(Math.max(...warm)),
    });
    console.log(`# first-load JS: ${scripts.size} file(s), ${raw} B raw, ${gzip} B gzipped (budget ${JS_BUDGET})`);
    console.log(`# first meaningful render, cold (${RUNS} fresh browsers): median ${r1(median(fmrs))} ms, max ${r1(Math.max(...fmrs))} ms (FCP ${mid.fcp === null ? "n/a" : r1(mid.fcp)} ms, socket connected ${r1(mid.connected)} ms, snapshot received ${r1(mid.synced)} ms); warm median ${r1(median(warm))} ms (budget ${FMR_BUDGET})`);
    assert.ok(gzip <= JS_BUDGET, `first-load JS ${gzip} B gzipped > ${JS_BUDGET}`);
    results.fmrColdVerdict = timing(`cold first meaningful render, median of ${RUNS} (${fmrs.join(", ")})`, median(fmrs), FMR_BUDGET);
    results.fmrWarmVerdict = timing("warm first meaningful render, median of 5", median(warm), FMR_BUDGET);
  });
});

test("a board of 1,000 tasks stays responsive", async () => {
  await withApp({}, async ({ server }) => {
    const p = await project(server, "Big board");
    const seedStart = Date.now();
    await seed(server, p, 1000, { sessions: 3 });
    const seedMs = Date.now() - seedStart;
    // Fresh browsers, so the seeding traffic does not count; the median of three loads.
    const url = `${server.url}/projects/${p.id}/tasks`;
    const ready = async (pg) => {
      await pg.locator(".page-title .count", { hasText: "1000" }).waitFor({ timeout: 15000 });
      await pg.locator(".vrow .task").first().waitFor();
    };
    const loads = [];
    for (let i = 0; i < RUNS - 1; i++) {
      const run = await coldLoad(url, ready);
      await run.close();
      loads.push(run);
    }
    const b = await coldLoad(url, ready);
    loads.push(b);
    try {
      const page = b.page;
      const fmrs = loads.map((l) => l.fmr);
      const fmr = median(fmrs);
      const renderWall = median(loads.map((l) => l.wall));
      const domRows = await page.locator(".vrow").count();

      const scroll = await page.evaluate(async () => {
        const el = document.querySelector('[data-testid="task-list"]');
        const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
        let long = 0;
        const obs = new PerformanceObserver((l) => (long += l.getEntries().length));
        try {
          obs.observe({ type: "longtask", buffered: false });
        } catch {}
        const steps = [];
        await frame();
        const start = performance.now();
        while (el.scrollTop + el.clientHeight < el.scrollHeight - 2 && steps.length < 400) {
          const t = performance.now();
          el.scrollTop += 640;
          await frame();
          steps.push(performance.now() - t);
        }
        const total = performance.now() - start;
        await frame();
        obs.disconnect();
        const rows = el.querySelectorAll(".vrow").length;
        const last = el.querySelector(".vrow:last-child")?.textContent ?? "";
        return { steps, total, long, rows, last, height: el.scrollHeight };
      });

      // Filter by typing: time until the list shows only matches.
      const f0 = Date.now();
      await page.getByLabel("Search tasks").fill("Task 0777");
      await page.locator(".vrow .task").filter({ hasText: "Task 0777" }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll(".vrow .task").length === 1);
      const filterMs = Date.now() - f0;

      // A live event at 1,000 tasks: REST write → row on screen.
      await page.getByLabel("Search tasks").fill("Live at a thousand");
      const l0 = Date.now();
      await server.api("POST", "/api/tasks", { projectId: p.id, title: "Live at a thousand" });
      await page.locator(".vrow .task", { hasText: "Live at a thousand" }).waitFor({ timeout: 5000 });
      const liveMs = Date.now() - l0;

      const p95 = pct(scroll.steps, 95);
      Object.assign(results, {
        boardSeedMs: seedMs,
        boardRenderWall: renderWall,
        boardFmr: r1(fmr),
        boardFmrMax: r1(Math.max(...fmrs)),
        boardSynced: r1(median(loads.map((l) => l.synced))),
        boardDomRows: domRows,
        boardScrollSteps: scroll.steps.length,
        boardScrollHeight: scroll.height,
        boardScrollP50: r1(median(scroll.steps)),
        boardScrollP95: r1(p95),
        boardScrollMax: r1(Math.max(...scroll.steps)),
        boardScrollTotal: Math.round(scroll.total),
        boardLongTasks: scroll.long,
        boardFilterMs: filterMs,
        boardLiveMs: liveMs,
      });
      console.log(`# 1,000 tasks (median of ${RUNS} fresh browsers): first sync rendered at ${r1(fmr)} ms (max ${r1(Math.max(...fmrs))} ms, snapshot received ${r1(median(loads.map((l) => l.synced)))} ms), on screen after ${renderWall} ms wall, ${domRows} rows in the DOM`);
      console.log(`# scroll to the end: ${scroll.steps.length} steps, p50 ${r1(median(scroll.steps))} ms, p95 ${r1(p95)} ms, max ${r1(Math.max(...scroll.steps))} ms, ${scroll.long} long task(s)`);
      console.log(`# filter: ${filterMs} ms; live REST write → row: ${liveMs} ms`);
      assert.ok(domRows < 80, `the list is not virtualised: ${domRows} rows in the DOM`);
      assert.ok(scroll.rows < 80, `rows in the DOM after scrolling: ${scroll.rows}`);
      assert.match(scroll.last, /\S/, "rows render at the end of the list");
      assert.ok(fmr !== null, "the app did not mark its first render of the board");
      results.boardFmrVerdict = timing(`1,000-task first render, median of ${RUNS} (${fmrs.join(", ")})`, fmr, BOARD_RENDER_BUDGET);
      results.boardScrollVerdict = timing("1,000-task scroll step p95", r1(p95), SCROLL_FRAME_BUDGET);
      results.boardLiveVerdict = timing("1,000-task live update", liveMs, LIVE_BUDGET);
    } finally {
      await b.close();
    }
  });
});

test("first load over a slow phone link: bytes on the wire and first render", async () => {
  await withApp({}, async ({ server }) => {
    const p = await project(server, "Slow link project");
    await seed(server, p, 20, { sessions: 5 });
    const b = await launch();
    try {
      const cdp = await b.context.newCDPSession(b.page);
      await cdp.send("Network.enable");
      // 400 ms round trip, 50 kB/s each way (Chrome DevTools' units: bytes per second).
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 400,
        downloadThroughput: 50 * 1000,
        uploadThroughput: 50 * 1000,
      });
      const urls = new Map();
      const bytes = new Map();
      cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, new URL(e.request.url).pathname));
      cdp.on("Network.loadingFinished", (e) => bytes.set(e.requestId, e.encodedDataLength));
      await b.page.goto(`${server.url}/projects/${p.id}`, { waitUntil: "commit" });
      // The HTML says it is loading while the script is still on its way.
      await b.page.getByRole("status").filter({ hasText: "Loading Maestro" }).waitFor({ timeout: 30000 });
      await b.page.locator(".stat-tasks .stat-n", { hasText: "20" }).waitFor({ timeout: 60000 });
      const fmr = await b.page.evaluate(() => performance.getEntriesByName("maestro:first-sync-rendered")[0]?.startTime ?? null);
      // The first paint: the HTML's loading state, before the script has arrived.
      const fcp = await b.page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null);
      await b.page.waitForTimeout(500); // late responses (icons, manifest)
      const files = [...bytes.entries()].map(([id, n]) => [urls.get(id) ?? id, n]);
      const total = files.reduce((a, [, n]) => a + n, 0);
      console.log(`# slow first load: ${total} bytes in ${files.length} responses, first render ${Math.round(fmr)} ms: ${JSON.stringify(files)}`);
      assert.ok(total <= FIRST_LOAD_BYTES, `first load ${total} bytes on the wire > ${FIRST_LOAD_BYTES}: ${JSON.stringify(files)}`);
      Object.assign(results, {
        slowBytes: total,
        slowResponses: files.length,
        slowFmr: fmr === null ? null : Math.round(fmr),
        slowFcp: fcp === null ? null : Math.round(fcp),
        slowScriptBytes: files.filter(([u]) => String(u).endsWith(".js")).reduce((a, [, n]) => a + n, 0),
        slowFmrVerdict: timing("first render at 400 ms RTT, 50 kB/s", fmr === null ? null : Math.round(fmr), SLOW_FMR_BUDGET),
      });
    } finally {
      await b.close();
    }
  });
});

test("write the Web app section of docs/BENCHMARKS.md", () => {
  const r = results;
  assert.ok(r.jsGzip && r.boardScrollP95 !== undefined, "the budget tests did not run");
  const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
  const cpu = cpus()[0]?.model?.trim() ?? "unknown CPU";
  const chromium = existsSync("/usr/bin/chromium") ? "Debian chromium (headless)" : "Chromium";
  const section = `## Web app

What: the phone web app (\`web/\`, issue 13) served by a real \`maestro-server\` (debug build,
FileSystem adapters, loopback) and driven by ${chromium} through \`playwright-core\` at a
390×844 phone viewport (device scale 2, touch). Measured by \`web/e2e/budgets.test.mjs\`; this
section is rewritten by \`just bench-web\`. Sizes and virtualisation are asserted; a timing over its budget
is marked **over** here and printed, and fails the run only with \`WEB_BUDGETS_STRICT=1\`
(\`just bench-web\`), since timings depend on the machine and its load.

Command:

\`\`\`sh
cd web && npm ci && npm run build
SERVER_BIN=$PWD/../target/debug/maestro-server npm run e2e
\`\`\`

Machine: ${cpus().length} vCPU (${cpu}), Node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(" / ")} (1 / 5 / 15 min) when the section was written — figures from a loaded machine are worse.

| Budget | Limit | Verdict | Measured |
|---|---|---|---|
| JavaScript on first load, gzipped | ≤ 150 KB | within (asserted) | **${kb(r.jsGzip)}** (${kb(r.jsRaw)} raw, ${r.jsFiles.length} file: ${r.jsFiles.join(", ")}; served as ${r.jsEncoding}; gzip level 6 computed by the test) |
| Bytes on the wire, first visit (every response, compressed as served) | ≤ 130 KB | within (asserted) | **${kb(r.slowBytes)}** in ${r.slowResponses} responses |
| First render at 400 ms RTT and 50 kB/s (DevTools network emulation, fresh profile): the HTML's loading state | ≤ 2 s | ${r.slowFcp !== null && r.slowFcp <= SLOW_FMR_BUDGET ? "within" : "**over**"} | **${r.slowFcp} ms** after navigation start (first contentful paint) |
| First meaningful render (the project's data on screen) at 400 ms RTT and 50 kB/s | ≤ 2 s | ${r.slowFmrVerdict} | **${r.slowFmr} ms** after navigation start: it needs the whole script (${kb(r.slowScriptBytes)} at 50 kB/s) and, after it, the client config, the Socket.IO connection and the snapshot, each at least one 400 ms round trip |
| First meaningful render, cold (fresh browser profile, dashboard of 20 tasks / 5 sessions on screen), median of 3 | ≤ 1 s | ${r.fmrColdVerdict} | **${r.fmrCold} ms** after navigation start, max ${r.fmrColdMax} ms (median run: first contentful paint ${r.fcpCold ?? "n/a"} ms, Socket.IO connected ${r.connectedCold} ms, \`state:sync\` snapshot received ${r.syncedCold} ms; wall clock from \`goto\` ${r.fmrColdWall} ms) |
| First meaningful render, warm (reload, 5 runs) | ≤ 1 s | ${r.fmrWarmVerdict} | median **${r.fmrWarmMedian} ms**, max ${r.fmrWarmMax} ms |
| 1,000-task board: first render of the task list (cold, median of 3) | ≤ 1 s | ${r.boardFmrVerdict} | **${r.boardFmr} ms** after navigation start, max ${r.boardFmrMax} ms (snapshot of 1,000 tasks received at ${r.boardSynced} ms; wall clock until rows shown ${r.boardRenderWall} ms) |
| 1,000-task board: rows in the DOM | virtualised | within (asserted) | ${r.boardDomRows} rows (of 1,000 tasks + group headers) |
| 1,000-task board: scroll to the end, one 640 px step until the next frame | p95 ≤ 50 ms | ${r.boardScrollVerdict} | p50 ${r.boardScrollP50} ms, **p95 ${r.boardScrollP95} ms**, max ${r.boardScrollMax} ms over ${r.boardScrollSteps} steps (${r.boardScrollHeight} px list, ${r.boardLongTasks} long task(s) > 50 ms) |
| 1,000-task board: type a search filter until only the match is listed | — | — | ${r.boardFilterMs} ms |
| 1,000-task board: REST \`POST /api/tasks\` → row on screen (Socket.IO event) | ≤ 1 s | ${r.boardLiveVerdict} | ${r.boardLiveMs} ms |

The JavaScript figure counts every script the first visit loads (the Markdown renderer,
\`marked\` + DOMPurify, is a separate chunk loaded only when a doc is shown). Seeding the 1,000
tasks over REST took ${r.boardSeedMs} ms (six concurrent clients; not a budget).
`;
  mkdirSync(OUTPUT, { recursive: true });
  const file = join(OUTPUT, "BENCHMARKS.md");
  const cur = existsSync(file) ? readFileSync(file, "utf8") : "";
  const start = cur.indexOf("\n## Web app\n");
  let next;
  if (start === -1) next = `${cur.replace(/\s*$/, "")}\n\n${section}`;
  else {
    const after = cur.indexOf("\n## ", start + 1);
    next = cur.slice(0, start + 1) + section + (after === -1 ? "" : cur.slice(after));
  }
  writeFileSync(file, next);
  console.log(section);
  if (!WRITE_DOCS) console.log(`(written to ${file}; MAESTRO_WRITE_DOCS=1 writes docs/BENCHMARKS.md)`);
});
