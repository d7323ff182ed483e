import { describe, expect, it, vi } from "vitest";
import { AuthStorage, MemoryStorage, SUPABASE_KEY, TOKEN_KEY, tokenProblem } from "./storage";
import { AuthError, SupabaseAuth } from "./supabase";
import { Api } from "../api/client";

describe("AuthStorage", () => {
  it("stores, trims and clears the API token", () => {
    const kv = new MemoryStorage();
    const s = new AuthStorage(kv);
    expect(s.getToken()).toBeNull();
    s.setToken("  abc  ");
    expect(kv.getItem(TOKEN_KEY)).toBe("abc");
    expect(s.getToken()).toBe("abc");
    s.clear();
    expect(s.getToken()).toBeNull();
  });

  it("round-trips a Supabase session and drops a corrupt one", () => {
    const kv = new MemoryStorage();
    const s = new AuthStorage(kv);
    s.setSupabase({ accessToken: "a", refreshToken: "r", expiresAt: 10, email: "e@x" });
    expect(s.getSupabase()).toEqual({ accessToken: "a", refreshToken: "r", expiresAt: 10, email: "e@x" });
    kv.setItem(SUPABASE_KEY, "{not json");
    expect(s.getSupabase()).toBeNull();
    expect(kv.getItem(SUPABASE_KEY)).toBeNull();
    kv.setItem(SUPABASE_KEY, JSON.stringify({ accessToken: "a" }));
    expect(s.getSupabase()).toBeNull();
  });

  it("validates tokens like the server", () => {
    expect(tokenProblem("")).toMatch(/Enter/);
    expect(tokenProblem("a b".padEnd(40, "c"))).toMatch(/spaces/);
    expect(tokenProblem("short")).toMatch(/32/);
    expect(tokenProblem("f".repeat(64))).toBeNull();
  });
});

function tokenResponse(access: string, refresh: string, expiresIn = 3600) {
  return new Response(
    JSON.stringify({ access_token: access, refresh_token: refresh, expires_in: expiresIn, user: { email: "me@example.com" } }),
    { status: 200, headers: { "content-type": "application/json" } },
  );
}

describe("SupabaseAuth", () => {
  const config = { url: "https://proj.supabase.co/", anonKey: "anon-key" };

  it("signs in with the password grant and the apikey header", async () => {
    const storage = new AuthStorage(new MemoryStorage());
    const fetch = vi.fn(async () => tokenResponse("A1", "R1"));
    const timers: number[] = [];
    const auth = new SupabaseAuth({ config, storage, fetch, now: () => 1_000_000, setTimer: (_f, ms) => timers.push(ms), clearTimer: () => {} });
    const s = await auth.signIn("me@example.com", "pw");
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("https://proj.supabase.co/auth/v1/token?grant_type=password");
    expect((init.headers as Record<string, string>).apikey).toBe("anon-key");
    expect(JSON.parse(init.body as string)).toEqual({ email: "me@example.com", password: "pw" });
    expect(s).toEqual({ accessToken: "A1", refreshToken: "R1", expiresAt: 1_000_000 + 3_600_000, email: "me@example.com" });
    expect(storage.getSupabase()?.accessToken).toBe("A1");
    // Refresh scheduled one minute before expiry.
    expect(timers).toEqual([3_600_000 - 60_000]);
  });

  it("reports the service's error message on a refused sign-in", async () => {
    const storage = new AuthStorage(new MemoryStorage());
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: "invalid_grant", error_description: "Invalid login credentials" }), { status: 400 }));
    const auth = new SupabaseAuth({ config, storage, fetch });
    await expect(auth.signIn("me@example.com", "bad")).rejects.toThrow("Invalid login credentials");
    expect(storage.getSupabase()).toBeNull();
  });

  it("refreshes before expiry with the refresh_token grant, once for concurrent callers", async () => {
    const storage = new AuthStorage(new MemoryStorage());
    let now = 0;
    storage.setSupabase({ accessToken: "A1", refreshToken: "R1", expiresAt: 100_000, email: "me@example.com" });
    const fetch = vi.fn(async () => tokenResponse("A2", "R2"));
    const auth = new SupabaseAuth({ config, storage, fetch, now: () => now, setTimer: () => 0, clearTimer: () => {} });
    // Far from expiry: no request.
    expect(await auth.accessToken()).toBe("A1");
    expect(fetch).not.toHaveBeenCalled();
    // Within the margin: refreshed, concurrent callers share one request.
    now = 50_000;
    const [a, b] = await Promise.all([auth.accessToken(), auth.accessToken()]);
    expect(a).toBe("A2");
    expect(b).toBe("A2");
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("https://proj.supabase.co/auth/v1/token?grant_type=refresh_token");
    expect(JSON.parse(init.body as string)).toEqual({ refresh_token: "R1" });
    expect(storage.getSupabase()).toMatchObject({ accessToken: "A2", refreshToken: "R2", email: "me@example.com" });
  });

  it("the scheduled timer performs the refresh", async () => {
    const storage = new AuthStorage(new MemoryStorage());
    storage.setSupabase({ accessToken: "A1", refreshToken: "R1", expiresAt: 200_000 });
    const fetch = vi.fn(async () => tokenResponse("A2", "R2"));
    let pending: (() => void) | null = null;
    let delay = -1;
    const auth = new SupabaseAuth({ config, storage, fetch, now: () => 0, setTimer: (f, ms) => { pending = f; delay = ms; return 1; }, clearTimer: () => {} });
    auth.start();
    expect(delay).toBe(140_000);
    (pending as unknown as () => void)();
    await vi.waitFor(() => expect(storage.getSupabase()?.accessToken).toBe("A2"));
  });

  it("signs out when the refresh token is refused", async () => {
    const storage = new AuthStorage(new MemoryStorage());
    storage.setSupabase({ accessToken: "A1", refreshToken: "R1", expiresAt: 10 });
    const onSignedOut = vi.fn();
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: "invalid_grant" }), { status: 400 }));
    const auth = new SupabaseAuth({ config, storage, fetch, now: () => 1000, onSignedOut, setTimer: () => 0, clearTimer: () => {} });
    await expect(auth.refresh()).rejects.toBeInstanceOf(AuthError);
    expect(onSignedOut).toHaveBeenCalledTimes(1);
    expect(storage.getSupabase()).toBeNull();
    expect(await auth.accessToken()).toBeNull();
  });

  it("keeps the session on a network failure and retries later", async () => {
    const storage = new AuthStorage(new MemoryStorage());
    storage.setSupabase({ accessToken: "A1", refreshToken: "R1", expiresAt: 100_000 });
    const delays: number[] = [];
    const fetch = vi.fn(async () => { throw new TypeError("network down"); });
    const auth = new SupabaseAuth({ config, storage, fetch, now: () => 90_000, setTimer: (_f, ms) => delays.push(ms), clearTimer: () => {} });
    // Token still valid for 10 s: used while the refresh failed.
    expect(await auth.accessToken()).toBe("A1");
    expect(storage.getSupabase()?.refreshToken).toBe("R1");
    expect(delays).toEqual([15_000]);
  });
});

describe("Api", () => {
  it("sends the bearer token and calls onUnauthorized on 401", async () => {
    const onUnauthorized = vi.fn();
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: true, code: "UNAUTHORIZED", message: "missing or invalid token" }), { status: 401 }));
    const api = new Api({ baseUrl: () => "", token: async () => "T".repeat(40), onUnauthorized, fetch });
    await expect(api.projects()).rejects.toThrow("missing or invalid token");
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/projects");
    expect((init.headers as Record<string, string>).authorization).toBe(`Bearer ${"T".repeat(40)}`);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("treats a missing auth config route as no sign-in", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ error: true, code: "NOT_FOUND", message: "nope" }), { status: 404 }));
    const api = new Api({ baseUrl: () => "http://h:1/", token: async () => null, onUnauthorized: () => {}, fetch });
    expect(await api.authConfig()).toEqual({ authMode: "none", supabase: null, missing: true });
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe("http://h:1/api/auth/config");
  });
});
