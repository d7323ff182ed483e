// A Socket.IO client driven over stdin/stdout, for Rust end-to-end tests that need the official
// JavaScript client: `node mobile-client.mjs <url> <token> <projectId> [namespace] [offset]`
// (namespace `/mobile` by default; an empty token sends none; an offset is sent as
// `auth.offset`, the last event id seen, to resume after it).
//
// Prints one JSON object per line: {kind: "connected"}, {kind: "connect_error", message},
// {kind: "event", name, data, offset} (offset: the event's log id, its second argument),
// {kind: "ack", id, reply}, {kind: "disconnect", reason}; exits
// after a disconnect or a connect error. Reads one JSON object per line from stdin:
// {id, emit, data} emits `emit` with `data` and prints the acknowledgement.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, token, projectId, namespace = "/mobile", offset] = process.argv.slice(2);
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const auth = { projectId };
if (token) auth.token = token;
if (offset) auth.offset = offset;
const socket = io(`${url}${namespace}`, {
  auth,
  reconnection: false,
  forceNew: true,
  transports: ["websocket"],
});
socket.on("connect", () => out({ kind: "connected" }));
socket.on("connect_error", (e) => {
  out({ kind: "connect_error", message: e.message });
  process.exit(0);
});
socket.on("disconnect", (reason) => {
  out({ kind: "disconnect", reason });
  process.exit(0);
});
socket.onAny((name, data, offset) => out({ kind: "event", name, data, offset }));

createInterface({ input: process.stdin }).on("line", async (line) => {
  const { id, emit, data } = JSON.parse(line);
  try {
    const reply = await socket.timeout(5000).emitWithAck(emit, data);
    out({ kind: "ack", id, reply });
  } catch (e) {
    out({ kind: "ack", id, error: String(e) });
  }
});
