// The live link to the server: Socket.IO namespace `/mobile`, bound to one project. The first
// connect asks for `state:sync` and applies the snapshot; between syncs it applies the events
// incrementally (see store/reducer.ts). Every event carries its id in the project's event log
// (second argument): a reconnect resumes after the newest id seen (`auth.offset`) and gets
// only what it missed, ending with `state:resumed`; when the server no longer has it
// (`resync_required`), the app takes a full `state:sync` again. Ids seen are remembered, so
// an event replayed and routed live right after is applied once.

import { io, type Socket } from "socket.io-client";
import { useApp } from "../store/app";
import type { Envelope, Snapshot } from "../types";
import { notifyFromEvent } from "../notify";
import { mark } from "../perf";
import { SeenEventIds } from "./eventIds";
import { savedNotices } from "../store/notices";
import { loadSnapshot, saveSnapshot } from "../store/offline";

/** Longest wait for a resume's `state:resumed` before taking a full snapshot instead. */
const RESUME_TIMEOUT_MS = 10_000;

export interface ConnectionOptions {
  baseUrl: () => string;
  token: () => Promise<string | null>;
  onUnauthorized: (message?: string) => void;
}

const AUTH_REFUSAL = /token|auth|credential|sign[- ]?in|unauthori[sz]ed|expired|jwt/i;

export class AckError extends Error {}

export class Connection {
  private socket: Socket | null = null;
  private projectId: string | null = null;
  private seen = new SeenEventIds();
  /** A snapshot of this project was applied on this connection object (resume needs one). */
  private hasSnapshot = false;
  /** The last handshake asked to resume; cleared by `state:resumed` / `resync_required`. */
  private resuming = false;
  private resumeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private opts: ConnectionOptions) {}

  get project(): string | null {
    return this.projectId;
  }

  /** The live connection is up (requests go over the socket). */
  get connected(): boolean {
    return this.socket?.connected === true;
  }

  /** Connects to `projectId` (no-op when already bound to it). */
  open(projectId: string): void {
    if (this.socket && this.projectId === projectId) {
      if (!this.socket.connected && !this.socket.active) this.socket.connect();
      return;
    }
    this.close();
    const store = useApp.getState();
    if (store.live.projectId !== projectId) {
      store.dispatch({ type: "reset", projectId, notices: savedNotices(projectId) });
    }
    this.projectId = projectId;
    mark("maestro:socket-open");
    store.setConn({ status: "connecting", error: undefined, attempts: 0, cachedAt: undefined });
    // The device's copy, until the server's snapshot arrives (offline: until it is back).
    void loadSnapshot(projectId).then((cached) => {
      const now = useApp.getState();
      if (!cached || this.projectId !== projectId || now.live.synced || now.live.syncing) return;
      now.dispatch({ type: "snapshot", snapshot: cached.snapshot, at: cached.savedAt });
      now.setConn({ cachedAt: cached.savedAt });
    });
    const socket = io(`${this.opts.baseUrl()}/mobile`, {
      // Called on every (re)connect, so a refreshed token is used after a reconnect.
      auth: (cb) => {
        const handshake = (token: string | null) => {
          const offset = this.hasSnapshot ? this.seen.newest : null;
          this.resuming = offset !== null;
          cb({ projectId, ...(token ? { token } : {}), ...(offset ? { offset } : {}) });
        };
        this.opts.token().then(handshake, () => handshake(null));
      },
      // WebSocket first (one round trip, and the snapshot does not go through long-polling);
      // HTTP long-polling when a proxy refuses WebSockets.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 2000,
      randomizationFactor: 0.3,
      timeout: 8000,
    });
    this.socket = socket;
    socket.on("connect", () => {
      if (this.socket !== socket) return;
      mark("maestro:socket-connected");
      if (!this.resuming) {
        void this.sync();
        return;
      }
      // The server replays what was missed, then says `state:resumed`.
      useApp.getState().setConn({ status: "syncing" });
      this.clearResumeTimer();
      this.resumeTimer = setTimeout(() => {
        if (this.socket !== socket || !this.resuming) return;
        this.resuming = false;
        void this.sync();
      }, RESUME_TIMEOUT_MS);
    });
    socket.on("disconnect", (reason) => {
      if (this.socket !== socket) return;
      useApp.getState().setConn({ status: "offline", error: undefined });
      // The server closed the socket on purpose: come back (socket.io does not by itself).
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", (err: Error) => {
      if (this.socket !== socket) return;
      const s = useApp.getState();
      if (socket.active) {
        // Transport failure (server down or restarting): socket.io retries by itself.
        s.setConn({ status: "offline", attempts: s.conn.attempts + 1 });
        return;
      }
      // Refused by the server's handshake check.
      const message = err.message || "The server refused the connection.";
      s.setConn({ status: "refused", error: message });
      if (AUTH_REFUSAL.test(message)) this.opts.onUnauthorized(message);
    });
    socket.onAny((name: string, env: unknown, id?: unknown) => {
      if (this.socket !== socket) return;
      if (name === "state:resumed") {
        this.resuming = false;
        this.clearResumeTimer();
        const replayed = (env as { replayed?: unknown } | null)?.replayed;
        useApp.getState().setConn({
          status: "live",
          error: undefined,
          lastSyncAt: Date.now(),
          attempts: 0,
          resumed: typeof replayed === "number" ? replayed : 0,
        });
        return;
      }
      if (name === "resync_required") {
        this.resuming = false;
        this.clearResumeTimer();
        void this.sync();
        return;
      }
      if (typeof id === "string" && !this.seen.add(id)) return;
      const envelope = normalise(name, env);
      useApp.getState().dispatch({ type: "event", envelope });
      notifyFromEvent(envelope, projectId);
    });
  }

  /** Asks for a full snapshot and applies it (pull-to-refresh, every (re)connect). */
  async sync(): Promise<void> {
    const socket = this.socket;
    const store = useApp.getState();
    if (!socket || !socket.connected) {
      if (socket && !socket.active) socket.connect();
      return;
    }
    store.dispatch({ type: "syncStart" });
    store.setConn({ status: "syncing" });
    try {
      const snap = (await socket.timeout(10_000).emitWithAck("state:sync")) as Snapshot;
      if (this.socket !== socket) return;
      mark("maestro:sync-received");
      if (!snap || snap.success === false) throw new AckError(snap?.error ?? "sync refused");
      useApp.getState().dispatch({ type: "snapshot", snapshot: snap, at: Date.now() });
      void saveSnapshot(this.projectId ?? "", snap);
      if (typeof snap.lastEventId === "string") this.seen.advance(snap.lastEventId);
      this.hasSnapshot = true;
      useApp.getState().setConn({
        status: "live",
        error: undefined,
        lastSyncAt: Date.now(),
        attempts: 0,
        resumed: undefined,
        cachedAt: undefined,
      });
      markFirstRender();
    } catch (e) {
      if (this.socket !== socket) return;
      useApp.getState().dispatch({ type: "syncFailed" });
      useApp.getState().setConn({
        status: socket.connected ? "live" : "offline",
        error: `Sync failed: ${(e as Error).message}`,
      });
    }
  }

  /** Emits with an acknowledgement; rejects with the server's error on `{success: false}`. */
  async request<T = Record<string, unknown>>(event: string, payload?: unknown): Promise<T> {
    const socket = this.socket;
    if (!socket || !socket.connected) throw new AckError("Not connected to the server.");
    const args = payload === undefined ? [] : [payload];
    let ack: unknown;
    try {
      ack = await socket.timeout(15_000).emitWithAck(event, ...args);
    } catch {
      throw new AckError("The server did not answer in time.");
    }
    const a = ack as { success?: boolean; error?: string };
    if (!a || a.success === false) throw new AckError(a?.error ?? "Request failed.");
    return ack as T;
  }

  /** Tries again at once when the network returns or the app comes back to the front,
   * instead of waiting for the next backoff step. */
  watchNetwork(): void {
    const now = () => {
      const socket = this.socket;
      if (!socket || socket.connected) return;
      socket.disconnect();
      socket.connect();
    };
    window.addEventListener("online", now);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") now();
    });
  }

  /** Retry after a refusal (e.g. after signing in again). */
  retry(): void {
    const p = this.projectId;
    if (!p) return;
    if (this.socket && !this.socket.active) {
      useApp.getState().setConn({ status: "connecting", error: undefined });
      this.socket.connect();
    } else if (!this.socket) this.open(p);
  }

  private clearResumeTimer(): void {
    if (this.resumeTimer !== null) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
  }

  close(): void {
    const s = this.socket;
    this.socket = null;
    this.projectId = null;
    this.seen.clear();
    this.hasSnapshot = false;
    this.resuming = false;
    this.clearResumeTimer();
    if (s) {
      s.removeAllListeners();
      s.offAny();
      s.close();
    }
    useApp.getState().setConn({ status: "idle" });
  }
}

function normalise(name: string, env: unknown): Envelope {
  if (env && typeof env === "object" && "data" in env) {
    const e = env as Partial<Envelope>;
    return {
      event: typeof e.event === "string" ? e.event : name,
      data: e.data,
      timestamp: typeof e.timestamp === "number" ? e.timestamp : Date.now(),
    };
  }
  return { event: name, data: env, timestamp: Date.now() };
}

let firstRenderMarked = false;
/** `performance` mark of the first snapshot on screen (read by the e2e budget test). */
function markFirstRender(): void {
  if (firstRenderMarked) return;
  firstRenderMarked = true;
  requestAnimationFrame(() => {
    performance.mark("maestro:first-sync-rendered");
  });
}
