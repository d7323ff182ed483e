// End-to-end tests of the Socket.IO namespaces with the official JavaScript client
// (socket.io-client 4.x) against the real `maestro-server` binary.
//
// Run by `cargo test -p maestro-server --test socketio` (which builds the binary and passes
// its path in SERVER_BIN), or directly: SERVER_BIN=target/debug/maestro-server node --test
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { io } from "socket.io-client";

const here = dirname(fileURLToPath(import.meta.url));
const FAKE_CLI = resolve(here, "../../crates/maestro-http/tests/fixtures/fake-maestro.sh");
const SERVER_BIN = process.env.SERVER_BIN;
if (!SERVER_BIN) throw new Error("SERVER_BIN must point at the maestro-server binary");

const TOKEN = "sio-test-7c1e9a4f2b8d6e3a0f5c9b2d7e4a1f8c";

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Server {
  constructor({ token } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "maestro-sio-"));
    mkdirSync(join(this.dir, "skills"), { recursive: true });
    this.token = token;
    this.port = 0;
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
    };
    if (this.token) env.MAESTRO_API_TOKEN = this.token;
    else delete env.MAESTRO_API_TOKEN;
    this.proc = spawn(SERVER_BIN, [], { env, stdio: ["ignore", "inherit", "inherit"] });
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/health`);
        if (r.ok) return;
      } catch {}
      await sleep(50);
    }
    throw new Error("server did not start");
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    await exited;
  }
  async api(method, path, body) {
    const headers = { "content-type": "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(json)}`);
    return json;
  }
}

async function withServer(opts, fn) {
  const server = new Server(opts);
  await server.start();
  const sockets = [];
  const connect = (ns, options = {}) => {
    const s = io(`${server.url}${ns}`, { reconnection: false, forceNew: true, ...options });
    sockets.push(s);
    return s;
  };
  try {
    await fn(server, connect);
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
}

function connected(socket, ms = 5000) {
  return new Promise((ok, fail) => {
    if (socket.connected) return ok(socket);
    const t = setTimeout(() => fail(new Error("connect timeout")), ms);
    socket.once("connect", () => (clearTimeout(t), ok(socket)));
    socket.once("connect_error", (e) => (clearTimeout(t), fail(e)));
  });
}

function connectError(socket, ms = 5000) {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error("expected connect_error")), ms);
    socket.once("connect", () => (clearTimeout(t), fail(new Error("connected unexpectedly"))));
    socket.once("connect_error", (e) => (clearTimeout(t), ok(e)));
  });
}

/** Resolves with the first `name` event whose envelope satisfies `pred`. */
function nextEvent(socket, name, pred = () => true, ms = 5000) {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => (socket.off(name, h), fail(new Error(`no ${name} event`))), ms);
    const h = (env) => {
      if (pred(env)) {
        clearTimeout(t);
        socket.off(name, h);
        ok(env);
      }
    };
    socket.on(name, h);
  });
}

/** Collects `name` events for `ms` milliseconds. */
async function collect(socket, name, ms = 400) {
  const got = [];
  const h = (env) => got.push(env);
  socket.on(name, h);
  await sleep(ms);
  socket.off(name, h);
  return got;
}

const ack = (socket, event, ...args) => socket.timeout(5000).emitWithAck(event, ...args);

async function project(server, name = "P") {
  return server.api("POST", "/api/projects", { name, workingDir: "/tmp" });
}

function assertEnvelope(env, name) {
  assert.equal(env.type, name);
  assert.equal(env.event, name);
  assert.equal(typeof env.timestamp, "number");
  assert.ok(env.data && typeof env.data === "object");
}

for (const transport of ["websocket", "polling"]) {
  test(`both namespaces receive REST-caused events over ${transport}`, async () => {
    await withServer({}, async (server, connect) => {
      const p = await project(server);
      const ui = await connected(connect("/ui", { transports: [transport] }));
      const mobile = await connected(
        connect("/mobile", { transports: [transport], auth: { projectId: p.id } }),
      );
      const onUi = nextEvent(ui, "task:created");
      const onMobile = nextEvent(mobile, "task:created");
      const task = await server.api("POST", "/api/tasks", { projectId: p.id, title: "T" });
      for (const env of [await onUi, await onMobile]) {
        assertEnvelope(env, "task:created");
        assert.equal(env.data.id, task.id);
        assert.equal(env.data.projectId, p.id);
      }
      const status = await server.api("GET", "/ws-status");
      assert.equal(status.socketIo.ui, 1);
      assert.equal(status.socketIo.mobile, 1);
    });
  });
}

test("a /mobile client of project A receives nothing of project B", async () => {
  await withServer({}, async (server, connect) => {
    const a = await project(server, "A");
    const b = await project(server, "B");
    const mobileA = await connected(connect("/mobile", { auth: { projectId: a.id } }));
    const seen = [];
    mobileA.onAny((name, env) => seen.push([name, env]));
    const tb = await server.api("POST", "/api/tasks", { projectId: b.id, title: "B task" });
    await server.api("POST", "/api/sessions", { projectId: b.id, taskIds: [tb.id] });
    await server.api("PATCH", `/api/tasks/${tb.id}`, { status: "completed" });
    await sleep(400);
    assert.deepEqual(seen, [], "events of project B leaked to A");
    const onA = nextEvent(mobileA, "task:created");
    const ta = await server.api("POST", "/api/tasks", { projectId: a.id, title: "A task" });
    assert.equal((await onA).data.id, ta.id);
  });
});

test("a /ui client subscribed to X gets X's events, not Y's, and unscoped ones", async () => {
  await withServer({}, async (server, connect) => {
    const p = await project(server);
    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "T" });
    const x = await server.api("POST", "/api/sessions", { projectId: p.id, taskIds: [t.id] });
    const y = await server.api("POST", "/api/sessions", { projectId: p.id, taskIds: [t.id] });
    const ui = await connected(connect("/ui"));
    const subscribed = nextEvent(ui, "subscribed");
    const reply = await ack(ui, "subscribe", { sessionIds: [x.id] });
    assert.equal(reply.success, true);
    assert.deepEqual((await subscribed).sessionIds, [x.id]);

    const updates = collect(ui, "session:updated", 600);
    const taskUpdate = nextEvent(ui, "task:updated");
    await server.api("PATCH", `/api/sessions/${y.id}`, { status: "working" });
    await server.api("PATCH", `/api/sessions/${x.id}`, { status: "working" });
    await server.api("PATCH", `/api/tasks/${t.id}`, { status: "in_progress" });
    const ids = (await updates).map((e) => e.data.id);
    assert.deepEqual(ids, [x.id], "only X's session:updated");
    assert.equal((await taskUpdate).data.id, t.id);

    await ack(ui, "unsubscribe");
    const yAgain = nextEvent(ui, "session:updated", (e) => e.data.id === y.id);
    await server.api("PATCH", `/api/sessions/${y.id}`, { status: "idle" });
    await yAgain;
  });
});

test("/mobile refuses a handshake without a usable projectId with a clear message", async () => {
  await withServer({}, async (_server, connect) => {
    const e1 = await connectError(connect("/mobile", { auth: {} }));
    assert.match(e1.message, /projectId required/);
    const e2 = await connectError(connect("/mobile", { auth: { projectId: "proj_missing" } }));
    assert.match(e2.message, /not found/);
  });
});

test("with a token configured both namespaces need it", async () => {
  await withServer({ token: TOKEN }, async (server, connect) => {
    const p = await project(server);
    const e = await connectError(connect("/mobile", { auth: { projectId: p.id } }));
    assert.match(e.message, /authentication required/);
    const bad = await connectError(connect("/ui", { auth: { token: "wrong" } }));
    assert.match(bad.message, /invalid token/);
    await connected(connect("/mobile", { auth: { projectId: p.id, token: TOKEN } }));
    await connected(connect("/ui", { auth: { token: TOKEN } }));
  });
});

test("token mode: both namespaces refuse a missing, bad or empty token on every transport", async () => {
  await withServer({ token: TOKEN }, async (server, connect) => {
    const p = await project(server);
    for (const transports of [["websocket"], ["polling"]]) {
      for (const ns of ["/ui", "/mobile"]) {
        for (const token of [undefined, "", "wrong", " ", `${TOKEN}x`]) {
          const auth = { projectId: p.id };
          if (token !== undefined) auth.token = token;
          const e = await connectError(connect(ns, { auth, transports }));
          assert.match(e.message, /authentication required|invalid token/, `${ns} ${transports} ${token}`);
        }
      }
    }
    // Authorization scheme is case-insensitive on the handshake request too.
    await connected(
      connect("/ui", { transports: ["polling"], extraHeaders: { authorization: `BEARER ${TOKEN}` } }),
    );
  });
});

test("without auth a proxied handshake is refused: loopback is not proof of a local user", async () => {
  await withServer({}, async (server, connect) => {
    const p = await project(server);
    for (const ns of ["/ui", "/mobile"]) {
      for (const header of ["x-forwarded-for", "cf-connecting-ip", "forwarded"]) {
        const r = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, {
          headers: { [header]: "203.0.113.9" },
        });
        assert.equal(r.status, 403, `${header} on the Engine.IO handshake`);
        const e = await connectError(
          connect(ns, {
            auth: { projectId: p.id },
            transports: ["polling"],
            extraHeaders: { [header]: "203.0.113.9" },
          }),
        );
        assert.ok(e, `${ns} with ${header}`);
      }
    }
    await connected(connect("/ui", {}));
  });
});

test("every /mobile handler acknowledges success and failure without dropping the socket", async () => {
  await withServer({}, async (server, connect) => {
    const p = await project(server);
    const other = await project(server, "Other");
    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "T" });
    const s = await server.api("POST", "/api/sessions", { projectId: p.id, taskIds: [t.id] });
    const to = await server.api("POST", "/api/tasks", { projectId: other.id, title: "O" });
    const so = await server.api("POST", "/api/sessions", { projectId: other.id, taskIds: [to.id] });
    const m = await connected(connect("/mobile", { auth: { projectId: p.id } }));

    // session:subscribe
    assert.deepEqual(await ack(m, "session:subscribe", [s.id]), {
      success: true,
      sessionIds: [s.id],
    });
    const foreign = await ack(m, "session:subscribe", [so.id]);
    assert.equal(foreign.success, false);
    assert.match(foreign.error, /another project/);
    assert.equal((await ack(m, "session:subscribe", "nope")).success, false);

    // mail:send
    const sent = await ack(m, "mail:send", {
      toSessionId: s.id,
      type: "directive",
      subject: "Go",
      body: { details: "now" },
    });
    assert.equal(sent.success, true);
    assert.equal(sent.mail.fromSessionId, "mobile-user");
    assert.equal(sent.mail.toSessionId, s.id);
    const noRecipient = await ack(m, "mail:send", { subject: "x" });
    assert.equal(noRecipient.success, false);
    const badType = await ack(m, "mail:send", { toSessionId: s.id, type: "shout", subject: "x" });
    assert.equal(badType.success, false);
    assert.equal((await ack(m, "mail:send", 42)).success, false);

    // session:reply-input
    await server.api("POST", `/api/sessions/${s.id}/timeline`, {
      type: "needs_input",
      message: "Which DB?",
    });
    const replied = await ack(m, "session:reply-input", { sessionId: s.id, message: "Postgres" });
    assert.equal(replied.success, true);
    assert.equal(replied.session.needsInput.active, false);
    const inbox = await server.api("GET", `/api/mail/inbox/${s.id}?projectId=${p.id}`);
    assert.ok(inbox.some((x) => x.body.answer === "Postgres"), "reply delivered as mail");
    const missing = await ack(m, "session:reply-input", { sessionId: "sess_nope", message: "x" });
    assert.equal(missing.success, false);
    assert.equal((await ack(m, "session:reply-input", {})).success, false);

    // state:sync
    const snap = await ack(m, "state:sync");
    assert.equal(snap.success, true);
    assert.equal(snap.project.id, p.id);
    assert.deepEqual(snap.tasks.map((x) => x.id), [t.id]);
    assert.deepEqual(snap.sessions.map((x) => x.id), [s.id]);
    assert.equal(snap.teamMembers.length, 5);

    // session:spawn
    const bad = await ack(m, "session:spawn", { taskIds: [] });
    assert.equal(bad.success, false);
    const wrongProject = await ack(m, "session:spawn", { projectId: other.id, taskIds: [to.id] });
    assert.equal(wrongProject.success, false);
    const spawnEvent = nextEvent(m, "session:spawn");
    const spawned = await ack(m, "session:spawn", { taskIds: [t.id], mode: "execute" });
    assert.equal(spawned.success, true, JSON.stringify(spawned));
    const env = await spawnEvent;
    assert.equal(env.data.session.id, spawned.sessionId);
    assert.equal(env.data.envVars.ANTHROPIC_API_KEY, undefined);

    // still connected and serving
    assert.equal(m.connected, true);
    assert.equal((await ack(m, "state:sync")).success, true);
  });
});

test("an event emitted the instant a socket connects is acknowledged, on both namespaces", async () => {
  // socketioxide sends CONNECT before it runs an async connect handler; handlers registered
  // there could miss the client's first emit (the web app syncs on "connect"). Many sockets at
  // once make that window likely if it exists.
  await withServer({}, async (server, connect) => {
    const p = await project(server);
    const N = 40;
    const firstAck = (socket, event) =>
      new Promise((ok, fail) => {
        socket.once("connect_error", fail);
        socket.once("connect", () => {
          socket.timeout(5000).emitWithAck(event).then(ok, fail);
        });
      });
    const acks = [];
    for (let i = 0; i < N; i++) {
      acks.push(firstAck(connect("/mobile", { auth: { projectId: p.id } }), "state:sync"));
      acks.push(firstAck(connect("/ui"), "ping"));
    }
    const got = await Promise.all(acks);
    for (const [i, a] of got.entries()) {
      if (i % 2 === 0) assert.equal(a.success, true, JSON.stringify(a));
      else assert.equal(typeof a.timestamp, "number");
    }
  });
});

test("after a server restart the client reconnects and state:sync is current", async () => {
  const server = new Server();
  await server.start();
  let m;
  try {
    const p = await project(server);
    const before = await server.api("POST", "/api/tasks", { projectId: p.id, title: "before" });
    m = io(`${server.url}/mobile`, {
      auth: { projectId: p.id },
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    });
    await connected(m);
    const reconnected = new Promise((ok) => m.io.once("reconnect", ok));
    await server.stop();
    await server.start();
    await reconnected;
    await connected(m);
    const after = await server.api("POST", "/api/tasks", { projectId: p.id, title: "after" });
    const snap = await ack(m, "state:sync");
    assert.equal(snap.success, true);
    assert.deepEqual(
      snap.tasks.map((x) => x.id),
      [before.id, after.id],
    );
  } finally {
    m?.close();
    await server.stop();
  }
});

test("a spawned agent's session token: /mobile of its own project only, never /ui, and not after the session ended", async () => {
  await withServer({ token: TOKEN }, async (server, connect) => {
    const p = await project(server);
    const other = await project(server, "Other");
    const t = await server.api("POST", "/api/tasks", { projectId: p.id, title: "T" });
    // The desktop app (trusted, local, with the server's token) receives the agent's token in
    // session:spawn; nobody else does.
    const desktop = await connected(connect("/ui", { auth: { token: TOKEN } }));
    const phone = await connected(connect("/mobile", { auth: { token: TOKEN, projectId: p.id } }));
    const phoneSpawn = nextEvent(phone, "session:spawn");
    const spawnFrame = nextEvent(desktop, "session:spawn");
    const spawned = await server.api("POST", "/api/sessions/spawn", { projectId: p.id, taskIds: [t.id] });
    const frame = await spawnFrame;
    const agentToken = frame.data.envVars.MAESTRO_SESSION_TOKEN;
    assert.match(agentToken ?? "", /^mst1\./, JSON.stringify(frame.data.envVars));
    assert.ok(!JSON.stringify(spawned).includes(agentToken), "not in the REST answer");
    const stored = await server.api("GET", `/api/sessions/${spawned.sessionId}`);
    assert.ok(!JSON.stringify(stored).includes(agentToken), "not in the stored session");
    assert.equal((await phoneSpawn).data.envVars.MAESTRO_SESSION_TOKEN, undefined, "not to the phone");

    // Its own project: live events and its handlers.
    const agent = await connected(connect("/mobile", { auth: { token: agentToken, projectId: p.id } }));
    const created = nextEvent(agent, "task:created");
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "seen" });
    assert.equal((await created).data.title, "seen");
    const sync = await ack(agent, "state:sync");
    assert.equal(sync.success, true);
    // Nothing else.
    const elsewhere = await connectError(connect("/mobile", { auth: { token: agentToken, projectId: other.id } }));
    assert.match(elsewhere.message, /forbidden/);
    const ui = await connectError(connect("/ui", { auth: { token: agentToken } }));
    assert.match(ui.message, /desktop app/);
    const forged = await connectError(
      connect("/mobile", { auth: { token: agentToken.replace(p.id, other.id), projectId: other.id } }),
    );
    assert.match(forged.message, /invalid token/);

    // Once the session has ended its token no longer connects.
    await server.api("PATCH", `/api/sessions/${spawned.sessionId}`, { status: "completed" });
    const ended = await connectError(connect("/mobile", { auth: { token: agentToken, projectId: p.id } }));
    assert.match(ended.message, /has ended/);
  });
});

test("a project API key: /mobile of its own project only, never /ui, and not once revoked", async () => {
  await withServer({ token: TOKEN }, async (server, connect) => {
    const p = await project(server);
    const other = await project(server, "Other");
    const created = await server.api("POST", `/api/projects/${p.id}/api-keys`, { name: "outside agent" });
    assert.match(created.key, /^mak1\./);
    const agent = await connected(connect("/mobile", { auth: { token: created.key, projectId: p.id } }));
    const seen = nextEvent(agent, "task:created");
    await server.api("POST", "/api/tasks", { projectId: p.id, title: "seen by the key" });
    assert.equal((await seen).data.title, "seen by the key");
    const sync = await ack(agent, "state:sync");
    assert.equal(sync.success, true);
    const elsewhere = await connectError(connect("/mobile", { auth: { token: created.key, projectId: other.id } }));
    assert.match(elsewhere.message, /forbidden/);
    const ui = await connectError(connect("/ui", { auth: { token: created.key } }));
    assert.match(ui.message, /desktop app/);
    await server.api("DELETE", `/api/projects/${p.id}/api-keys/${created.id}`);
    const revoked = await connectError(connect("/mobile", { auth: { token: created.key, projectId: p.id } }));
    assert.match(revoked.message, /revoked/);
  });
});
