// Where the app keeps credentials: browser storage (localStorage), never the URL.

export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface SupabaseSession {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms at which the access token expires. */
  expiresAt: number;
  email?: string;
}

export const TOKEN_KEY = "maestro.auth.token";
export const SUPABASE_KEY = "maestro.auth.supabase";

/** A memory store for when localStorage is unavailable (private mode, tests). */
export class MemoryStorage implements KeyValue {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.has(k) ? (this.m.get(k) as string) : null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

export function browserStorage(): KeyValue {
  try {
    const s = globalThis.localStorage;
    const probe = "maestro.probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return new MemoryStorage();
  }
}

/** What the server accepts as an API token: no whitespace, at least 32 characters. */
export function tokenProblem(raw: string): string | null {
  const t = raw.trim();
  if (!t) return "Enter the server's API token.";
  if (/\s/.test(t)) return "A token has no spaces.";
  if (t.length < 32) return "A token is at least 32 characters long.";
  return null;
}

export class AuthStorage {
  constructor(private kv: KeyValue) {}

  getToken(): string | null {
    const t = this.kv.getItem(TOKEN_KEY);
    return t && t.trim() ? t.trim() : null;
  }

  setToken(token: string): void {
    this.kv.setItem(TOKEN_KEY, token.trim());
  }

  getSupabase(): SupabaseSession | null {
    const raw = this.kv.getItem(SUPABASE_KEY);
    if (!raw) return null;
    try {
      const v = JSON.parse(raw) as Partial<SupabaseSession>;
      if (
        typeof v.accessToken === "string" &&
        typeof v.refreshToken === "string" &&
        typeof v.expiresAt === "number"
      ) {
        const s: SupabaseSession = {
          accessToken: v.accessToken,
          refreshToken: v.refreshToken,
          expiresAt: v.expiresAt,
        };
        if (typeof v.email === "string") s.email = v.email;
        return s;
      }
    } catch {
      // fall through: a corrupt entry is dropped
    }
    this.kv.removeItem(SUPABASE_KEY);
    return null;
  }

  setSupabase(s: SupabaseSession): void {
    this.kv.setItem(SUPABASE_KEY, JSON.stringify(s));
  }

  clear(): void {
    this.kv.removeItem(TOKEN_KEY);
    this.kv.removeItem(SUPABASE_KEY);
  }
}
