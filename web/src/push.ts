// Web Push on this device (issue 27): the browser's push subscription, registered with the
// server with this device's quiet hours, and the credential the service worker uses to answer
// an agent straight from a notification (build/sw-template.js).

/** Where the service worker finds the credential (a private cache of this origin). */
export const AUTH_CACHE = "maestro-auth";
export const CREDENTIAL_KEY = "/__maestro/credential";

export interface QuietHours {
  start: string;
  end: string;
  utcOffsetMinutes: number;
}

export interface PushSettings {
  quietHours?: QuietHours | null;
  mutedProjects?: string[];
}

type Request = <T>(method: string, path: string, body?: unknown) => Promise<T>;

const SETTINGS_KEY = "maestro.push.settings";

/** This device's push settings, as last registered (they are the server's too). */
export function deviceSettings(store?: Pick<Storage, "getItem">): Required<PushSettings> {
  try {
    const v = JSON.parse((store ?? globalThis.localStorage).getItem(SETTINGS_KEY) ?? "{}") as PushSettings;
    return {
      quietHours: v.quietHours ?? null,
      mutedProjects: Array.isArray(v.mutedProjects) ? v.mutedProjects.filter((p) => typeof p === "string") : [],
    };
  } catch {
    return { quietHours: null, mutedProjects: [] };
  }
}

function keepSettings(s: PushSettings): void {
  try {
    globalThis.localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  } catch {
    // Not kept here; the server has them.
  }
}

/** `settings` with `projectId` muted (or not). */
export function withMuted(settings: Required<PushSettings>, projectId: string, muted: boolean): Required<PushSettings> {
  const others = settings.mutedProjects.filter((p) => p !== projectId);
  return { ...settings, mutedProjects: muted ? [...others, projectId] : others };
}

export function pushSupported(): boolean {
  return typeof window !== "undefined" && "serviceWorker" in navigator && "PushManager" in window;
}

/** The VAPID key as `applicationServerKey` wants it. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** This device's offset from UTC, in minutes (`+60` in UTC+1). */
export function utcOffsetMinutes(now = new Date()): number {
  return -now.getTimezoneOffset();
}

/** Leaves `token` where the service worker can read it (null: removes it). */
export async function shareCredential(token: string | null): Promise<void> {
  if (typeof caches === "undefined") return;
  try {
    const cache = await caches.open(AUTH_CACHE);
    if (token) await cache.put(CREDENTIAL_KEY, new Response(token));
    else await cache.delete(CREDENTIAL_KEY);
  } catch {
    // No Cache Storage (private mode): answers from a notification open the app instead.
  }
}

async function registration(): Promise<ServiceWorkerRegistration> {
  return navigator.serviceWorker.ready;
}

/** Whether this device is subscribed. */
export async function isSubscribed(): Promise<boolean> {
  if (!pushSupported()) return false;
  const reg = await navigator.serviceWorker.getRegistration();
  return !!(await reg?.pushManager.getSubscription());
}

/** Subscribes this device (or reuses its subscription) and registers it with the server. */
export async function enablePush(request: Request, publicKey: string, settings: PushSettings): Promise<void> {
  const reg = await registration();
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) }));
  await request("POST", "/api/push/subscriptions", { ...sub.toJSON(), ...settings });
  keepSettings({ ...deviceSettings(), ...settings });
}

/** Unsubscribes this device here and on the server. */
export async function disablePush(request: Request): Promise<void> {
  const reg = await registration();
  const sub = await reg.pushManager.getSubscription();
  if (!sub) return;
  const endpoint = sub.endpoint;
  await sub.unsubscribe();
  await request("DELETE", `/api/push/subscriptions?endpoint=${encodeURIComponent(endpoint)}`);
}
