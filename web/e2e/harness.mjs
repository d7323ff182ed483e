// End-to-end harness: a real `maestro-server` (SERVER_BIN) on a free port with temp dirs,
// serving the built app (web/dist), and Debian's Chromium driven by playwright-core at a phone
// viewport.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const WEB = resolve(here, "..");
export const REPO = resolve(WEB, "..");
/// `MAESTRO_WRITE_DOCS=1` (as `just bench-web` sets) writes the screenshots and the "Web app"
/// section into `docs/`; any other run writes them under `target/web-e2e/`, so a test run
/// leaves the tracked tree as it was.
export const WRITE_DOCS = process.env.MAESTRO_WRITE_DOCS === "1";
export const OUTPUT = WRITE_DOCS ? join(REPO, "docs") : join(REPO, "target/web-e2e");
export const SCREENSHOTS = join(OUTPUT, "screenshots");
export const FAKE_CLI = join(REPO, "crates/maestro-http/tests/fixtures/fake-maestro.sh");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const PHONE = { width: 390, height: 844 }; // the phone (portrait); tests turn it to 844×390

export const SERVER_BIN = process.env.SERVER_BIN;
if (!SERVER_BIN) {
  throw new Error(
    "SERVER_BIN is not set: point it at the maestro-server binary, e.g.\n" +
      "  SERVER_BIN=$PWD/../target/debug/maestro-server npm run e2e",
  );
}
if (!existsSync(SERVER_BIN)) throw new Error(`SERVER_BIN=${SERVER_BIN} does not exist`);
if (!existsSync(join(WEB, "dist/index.html"))) {
  throw new Error("web/dist/index.html is missing: run `npm run build` in web/ first");
}
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value. */
export async function eventually(fn, what, ms = 8000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export async function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}

export class Server {
  constructor({ token, env } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "maestro-web-e2e-"));
    mkdirSync(join(this.dir, "skills"), { recursive: true });
    this.token = token;
    this.extraEnv = env ?? {};
    this.port = 0;
    this.log = [];
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    const env = {
      ...process.env,
      PORT: String(this.port),
      HOST: "127.0.0.1",
      DATA_DIR: join(this.dir, "data"),
      SESSION_DIR: join(this.dir, "sessions"),
      SKILLS_DIR: join(this.dir, "skills"),
      MAESTRO_CLI_PATH: FAKE_CLI,
      LOG_LEVEL: "warn",
      ...this.extraEnv,
    };
    if (this.token) env.MAESTRO_API_TOKEN = this.token;
    else delete env.MAESTRO_API_TOKEN;
    this.proc = spawn(SERVER_BIN, [], { env, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (b) => {
      this.log.push(b.toString());
      if (this.log.length > 200) this.log.shift();
    };
    this.proc.stdout.on("data", keep);
    this.proc.stderr.on("data", keep);
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) break;
      try {
        const r = await fetch(`${this.url}/api/auth/config`);
        if (r.ok) return;
      } catch {}
      await sleep(50);
    }
    throw new Error(`server did not start on ${this.url}:\n${this.log.join("")}`);
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  cleanup() {
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {}
  }

  async api(method, path, body) {
    const headers = { "content-type": "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const json = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${path} -> ${r.status} ${text}`);
    return json;
  }
}

/** A TCP forwarder to `server` whose connections can be cut (the network dropping) while
 * the server keeps running; `hold()` also refuses new ones until `release()`. */
export class Proxy {
  constructor(server) {
    this.server = server;
    this.sockets = new Set();
    this.holding = false;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (default: a free one). */
  async start(port = 0) {
    this.listener = net.createServer((client) => {
      if (this.holding) return client.destroy();
      const upstream = net.connect(this.server.port, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise((ok) => this.listener.listen(port, "127.0.0.1", ok));
    this.port = this.listener.address().port;
    return this;
  }

  /** Closes every open connection and refuses new ones. */
  hold() {
    this.holding = true;
    for (const s of this.sockets) s.destroy();
  }

  release() {
    this.holding = false;
  }

  close() {
    this.hold();
    this.listener?.close();
  }
}

export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), "maestro-web-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: "light",
  });
  const errors = [];
  const watch = (page) => {
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (process.env.E2E_CONSOLE) console.log(`[browser ${m.type()}] ${m.text()}`);
      if (m.type() !== "error") return;
      // An agent's modal runs in its own sandbox (/modal-frame), whose CSP refuses the CLI
      // bridge's direct calls to the modal routes: the agent's errors, not the app's.
      const agent = /\/api\/sessions\/[^/\s]+\/modal\//.test(m.text());
      errors.push(`${agent ? "agent-frame" : "console"}: ${m.text()}`);
    });
  };
  context.on("page", watch);
  for (const p of context.pages()) watch(p);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Server + browser for one test; always torn down. */
export async function withApp(opts, fn) {
  const server = new Server(opts);
  await server.start();
  let browser;
  try {
    browser = await launch();
    await fn({ server, ...browser });
    // The app must run under the server's strict CSP without violations or uncaught errors.
    const bad = browser.errors.filter(
      (e) => e.startsWith("pageerror") || (e.startsWith("console") && /Content Security Policy/i.test(e)),
    );
    if (bad.length) throw new Error(`errors in the page:\n${bad.join("\n")}`);
  } catch (e) {
    if (browser) {
      e.message += `\n--- browser errors ---\n${browser.errors.join("\n")}`;
      try {
        await browser.page.screenshot({ path: join(server.dir, "failure.png"), timeout: 5000 });
        e.message += `\n(failure screenshot: ${join(server.dir, "failure.png")})`;
      } catch {}
    }
    e.message += `\n--- server log (tail) ---\n${server.log.slice(-20).join("")}`;
    throw e;
  } finally {
    if (browser) await browser.close();
    await server.stop();
  }
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Transient toasts would hide the screen: dismiss them first, as a person would.
  // A toast may leave while being clicked: a short timeout, not the 30 s default.
  for (const x of await page.locator(".toast-x").all()) await x.click({ timeout: 1000 }).catch(() => {});
  await page.locator(".toast").first().waitFor({ state: "detached", timeout: 2000 }).catch(() => {});
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** A project with the given name; returns it. */
export async function project(server, name = "Demo project") {
  return server.api("POST", "/api/projects", { name, workingDir: "/tmp/demo", description: "" });
}
