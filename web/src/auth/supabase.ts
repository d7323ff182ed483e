// Supabase email/password sign-in (GoTrue) and access-token refresh before expiry.

import type { AuthStorage, SupabaseSession } from "./storage";

export interface SupabaseConfig {
  url: string;
  anonKey: string;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface SupabaseAuthOptions {
  config: SupabaseConfig;
  storage: AuthStorage;
  fetch?: Fetch;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Refresh this long before expiry. */
  marginMs?: number;
  /** Called when the session is gone for good (refresh refused). */
  onSignedOut?: () => void;
}

export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  expires_at?: number;
  user?: { email?: string };
  error?: string;
  error_description?: string;
  msg?: string;
  message?: string;
}

export class SupabaseAuth {
  private fetch: Fetch;
  private now: () => number;
  private setTimer: (fn: () => void, ms: number) => unknown;
  private clearTimer: (h: unknown) => void;
  private margin: number;
  private timer: unknown = null;
  private inflight: Promise<SupabaseSession> | null = null;

  constructor(private opts: SupabaseAuthOptions) {
    this.fetch = opts.fetch ?? ((i, init) => globalThis.fetch(i, init));
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.margin = opts.marginMs ?? 60_000;
  }

  private endpoint(grant: string): string {
    return `${this.opts.config.url.replace(/\/+$/, "")}/auth/v1/token?grant_type=${grant}`;
  }

  private async grant(grant: string, body: Record<string, string>): Promise<SupabaseSession> {
    let res: Response;
    try {
      res = await this.fetch(this.endpoint(grant), {
        method: "POST",
        headers: { apikey: this.opts.config.anonKey, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      throw new AuthError("Cannot reach the sign-in service.", 0);
    }
    let json: TokenResponse = {};
    try {
      json = (await res.json()) as TokenResponse;
    } catch {
      // non-JSON error page
    }
    if (!res.ok || !json.access_token || !json.refresh_token) {
      const msg =
        json.error_description ?? json.msg ?? json.message ?? json.error ?? `HTTP ${res.status}`;
      throw new AuthError(msg, res.status || 500);
    }
    const expiresAt =
      typeof json.expires_at === "number"
        ? json.expires_at * 1000
        : this.now() + (json.expires_in ?? 3600) * 1000;
    const s: SupabaseSession = {
      accessToken: json.access_token,
      refreshToken: json.refresh_token,
      expiresAt,
    };
    const email = json.user?.email ?? body.email;
    if (email) s.email = email;
    return s;
  }

  /** Email/password sign-in; stores the session and schedules its refresh. */
  async signIn(email: string, password: string): Promise<SupabaseSession> {
    const s = await this.grant("password", { email, password });
    this.opts.storage.setSupabase(s);
    this.schedule(s);
    return s;
  }

  /** Exchanges the refresh token (one request at a time). */
  refresh(): Promise<SupabaseSession> {
    if (this.inflight) return this.inflight;
    const cur = this.opts.storage.getSupabase();
    if (!cur) return Promise.reject(new AuthError("Not signed in.", 401));
    this.inflight = this.grant("refresh_token", { refresh_token: cur.refreshToken })
      .then((s) => {
        if (!s.email && cur.email) s.email = cur.email;
        this.opts.storage.setSupabase(s);
        this.schedule(s);
        return s;
      })
      .catch((e: unknown) => {
        if (e instanceof AuthError && (e.status === 400 || e.status === 401 || e.status === 403)) {
          // The refresh token is no longer valid: signed out.
          this.opts.onSignedOut?.();
          this.signOut();
        } else if (cur) {
          // Transient failure: try again shortly.
          this.scheduleIn(15_000);
        }
        throw e;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /** The access token to send, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | null> {
    const s = this.opts.storage.getSupabase();
    if (!s) return null;
    if (s.expiresAt - this.margin <= this.now()) {
      try {
        return (await this.refresh()).accessToken;
      } catch {
        // Still valid for a while? Use it; the server decides.
        const again = this.opts.storage.getSupabase();
        return again && again.expiresAt > this.now() ? again.accessToken : null;
      }
    }
    return s.accessToken;
  }

  /** Schedules the refresh of the stored session (call at start-up). */
  start(): void {
    const s = this.opts.storage.getSupabase();
    if (s) this.schedule(s);
  }

  private schedule(s: SupabaseSession): void {
    this.scheduleIn(Math.max(0, s.expiresAt - this.margin - this.now()));
  }

  private scheduleIn(ms: number): void {
    this.stop();
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.refresh().catch(() => {});
    }, ms);
  }

  stop(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  signOut(): void {
    this.stop();
    this.opts.storage.clear();
  }
}
