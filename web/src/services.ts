// Wiring of the app's singletons: credentials, the REST client, the Socket.IO connection.

import { Api, type AuthConfig } from "./api/client";
import { AuthStorage, browserStorage } from "./auth/storage";
import { SupabaseAuth } from "./auth/supabase";
import { useApp } from "./store/app";
import { Connection } from "./realtime/connection";
import { forgetLocalHistory } from "./store/notices";
import { shareCredential } from "./push";
import { forgetSnapshots } from "./store/offline";
import { InboxLoader, forgetInbox } from "./store/inbox";
import { Outbox, indexedDbQueue, useOutbox } from "./store/outbox";
import { personSignature } from "./store/selectors";

const kv = browserStorage();
export const authStorage = new AuthStorage(kv);

const SERVER_KEY = "maestro.serverUrl";
const THEME_KEY = "maestro.theme";
const LAST_PROJECT_KEY = "maestro.lastProject";

/** '' = the server that served the app. */
export function serverUrl(): string {
  return kv.getItem(SERVER_KEY) ?? "";
}

export function setServerUrl(url: string): void {
  const u = url.trim().replace(/\/+$/, "");
  if (u) kv.setItem(SERVER_KEY, u);
  else kv.removeItem(SERVER_KEY);
}

export type Theme = "system" | "light" | "dark";
export function theme(): Theme {
  const t = kv.getItem(THEME_KEY);
  return t === "light" || t === "dark" ? t : "system";
}
export function setTheme(t: Theme): void {
  if (t === "system") kv.removeItem(THEME_KEY);
  else kv.setItem(THEME_KEY, t);
  applyTheme();
}
export function applyTheme(): void {
  const t = theme();
  const root = document.documentElement;
  if (t === "system") delete root.dataset.theme;
  else root.dataset.theme = t;
}

export function lastProject(): string | null {
  return kv.getItem(LAST_PROJECT_KEY);
}
export function rememberProject(id: string | null): void {
  if (id) kv.setItem(LAST_PROJECT_KEY, id);
  else kv.removeItem(LAST_PROJECT_KEY);
}

let supabase: SupabaseAuth | null = null;

/** The bearer token for REST and Socket.IO, per the server's auth mode. */
export async function currentToken(): Promise<string | null> {
  const mode = useApp.getState().auth.mode;
  if (mode === "supabase") return supabase ? supabase.accessToken() : null;
  if (mode === "token") return authStorage.getToken();
  // Mode not known yet (start-up) or none: send what is stored (harmless on an open server).
  return authStorage.getToken() ?? authStorage.getSupabase()?.accessToken ?? null;
}

/** Credentials were refused (401 or a refused handshake): back to sign-in. */
export function unauthorized(message?: string): void {
  const { auth, setAuth } = useApp.getState();
  if (auth.mode === null) {
    // Refused before the auth config arrived (the connection opened at start-up): the config
    // decides whether to sign in; signed in, the app reconnects (App.tsx).
    setAuth({ signedIn: false });
    return;
  }
  // The server asked for credentials although it said none are needed: ask for a token.
  if (auth.mode === "none") setAuth({ mode: "token" });
  const had = authStorage.getToken() !== null || authStorage.getSupabase() !== null;
  setAuth({
    signedIn: false,
    error: had
      ? `Your sign-in is no longer accepted${message ? ` (${message})` : ""}. Please sign in again.`
      : undefined,
  });
  connection.close();
}

export const api = new Api({
  baseUrl: serverUrl,
  token: currentToken,
  onUnauthorized: () => unauthorized(),
});

export const connection = new Connection({
  baseUrl: serverUrl,
  token: currentToken,
  onUnauthorized: unauthorized,
});

/** The person's inbox across projects (store/inbox.ts). */
export const inboxLoader = new InboxLoader(() => api.personInbox());

/**
 * Keeps the inbox current while the app runs: when what the connected project shows the
 * person changes (an agent asks, an approval comes or goes, a session fails, mail arrives),
 * when a push arrives (any project), when the app comes back to the front or online, and
 * once a minute while it is in front. Called once at start.
 */
export function watchInbox(): void {
  const signedIn = () => useApp.getState().auth.signedIn;
  let prev = useApp.getState().live;
  let signature = personSignature(prev);
  useApp.subscribe((s) => {
    const live = s.live;
    if (live.sessions === prev.sessions && live.modals === prev.modals && live.mail === prev.mail) {
      return;
    }
    prev = live;
    const next = personSignature(live);
    if (next === signature) return;
    signature = next;
    if (signedIn()) inboxLoader.soon();
  });
  const now = () => {
    if (signedIn() && document.visibilityState === "visible") inboxLoader.soon(0);
  };
  window.addEventListener("online", now);
  document.addEventListener("visibilitychange", now);
  navigator.serviceWorker?.addEventListener("message", (e: MessageEvent) => {
    const d = e.data as { type?: string } | null;
    if (d?.type === "push" && signedIn()) inboxLoader.soon();
  });
  setInterval(now, 60_000);
}

/** Changes kept while the server cannot be reached (store/outbox.ts). */
export const outbox = new Outbox(
  (p) => api.request(p.method, p.path, p.body, true, { "Idempotency-Key": p.key }),
  indexedDbQueue(),
  (p, e) =>
    useApp.getState().toast({
      text: `Not sent: ${p.label} (${e instanceof Error ? e.message : "refused"})`,
      tone: "error",
    }),
);

/**
 * Sends the kept changes when they can go: when the network comes back, when the live
 * connection is up again, when the app comes back to the front, and every 20 s while some
 * wait. Called once at start.
 */
export function watchOutbox(): void {
  const go = () => {
    if (useApp.getState().auth.signedIn && useOutbox.getState().items.length) void outbox.flush();
  };
  window.addEventListener("online", go);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") go();
  });
  useApp.subscribe((s, prev) => {
    if (s.conn.status === "live" && prev.conn.status !== "live") go();
    if (s.auth.signedIn && !prev.auth.signedIn) go();
  });
  setInterval(go, 20_000);
}

let boot: Promise<AuthConfig> | null = null;

/** Starts the auth config request before the first render (main.tsx). */
export function bootAuthConfig(): void {
  boot ??= api.authConfig();
  boot.catch(() => {});
}

/** The auth config: the request started at boot the first time, a new one afterwards. */
export function loadAuthConfig(): Promise<AuthConfig> {
  const b = boot;
  boot = null;
  return b ?? api.authConfig();
}

/** Applies the server's auth config: which sign-in is needed and whether we have it. */
export function configureAuth(cfg: AuthConfig): void {
  const { setAuth } = useApp.getState();
  setAuth({
    spawnUnavailable: cfg.spawn && !cfg.spawn.available ? (cfg.spawn.reason ?? "Spawning is not available on this server.") : null,
    pushKey: cfg.push?.publicKey ?? null,
  });
  supabase?.stop();
  supabase = null;
  if (cfg.authMode === "supabase" && cfg.supabase) {
    supabase = new SupabaseAuth({
      config: cfg.supabase,
      storage: authStorage,
      onSignedOut: () => unauthorized("the session expired"),
    });
    supabase.start();
    const s = authStorage.getSupabase();
    const auth: Parameters<typeof setAuth>[0] = {
      mode: "supabase",
      supabase: cfg.supabase,
      signedIn: s !== null,
    };
    if (s?.email) auth.email = s.email;
    setAuth(auth);
  } else if (cfg.authMode === "token") {
    setAuth({ mode: "token", supabase: null, signedIn: authStorage.getToken() !== null });
  } else {
    setAuth({ mode: "none", supabase: null, signedIn: true });
  }
}

export async function signInWithToken(token: string): Promise<void> {
  authStorage.setToken(token);
  try {
    await api.projects();
  } catch (e) {
    authStorage.clear();
    throw e;
  }
  useApp.getState().setAuth({ signedIn: true, error: undefined });
}

export async function signInWithPassword(email: string, password: string): Promise<void> {
  if (!supabase) throw new Error("This server does not use Supabase sign-in.");
  const s = await supabase.signIn(email, password);
  const auth: Parameters<ReturnType<typeof useApp.getState>["setAuth"]>[0] = {
    signedIn: true,
    error: undefined,
  };
  if (s.email) auth.email = s.email;
  useApp.getState().setAuth(auth);
}

export function signOut(): void {
  supabase?.signOut();
  authStorage.clear();
  void shareCredential(null);
  void forgetSnapshots();
  void outbox.clear();
  forgetInbox();
  forgetLocalHistory();
  connection.close();
  const mode = useApp.getState().auth.mode;
  useApp.getState().setAuth({ signedIn: mode === "none", error: undefined, email: undefined });
}
