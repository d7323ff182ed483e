// Offline-first (issue 27): the last snapshot of each project is kept in IndexedDB and shown,
// read-only, when the server cannot be reached (an offline cold start, or a dropped
// connection), with when it was synced; the server's client config is kept too, so the app
// can start without it. The live connection replaces both as soon as it is back.

import { clear, createStore, del, get, set, type UseStore } from "idb-keyval";
import type { AuthConfig } from "../api/client";
import type { Snapshot } from "../types";

export interface CachedSnapshot {
  snapshot: Snapshot;
  /** When it was received from the server (ms since the epoch). */
  savedAt: number;
}

const CONFIG_KEY = "maestro.authConfig";
let db: UseStore | null = null;

function store(): UseStore | null {
  if (typeof indexedDB === "undefined") return null;
  db ??= createStore("maestro-offline", "snapshots");
  return db;
}

export async function saveSnapshot(projectId: string, snapshot: Snapshot, savedAt = Date.now()): Promise<void> {
  const s = store();
  if (!s) return;
  try {
    await set(projectId, { snapshot, savedAt } satisfies CachedSnapshot, s);
  } catch {
    // Storage full or refused: the app works online only.
  }
}

export async function loadSnapshot(projectId: string): Promise<CachedSnapshot | null> {
  const s = store();
  if (!s) return null;
  try {
    const v = (await get(projectId, s)) as CachedSnapshot | undefined;
    return v && typeof v.savedAt === "number" && v.snapshot ? v : null;
  } catch {
    return null;
  }
}

export async function forgetSnapshot(projectId: string): Promise<void> {
  const s = store();
  if (s) await del(projectId, s).catch(() => {});
}

/** Forgets every project's copy (signing out: the next person on this device sees nothing). */
export async function forgetSnapshots(): Promise<void> {
  const s = store();
  if (s) await clear(s).catch(() => {});
}

export function saveConfig(cfg: AuthConfig): void {
  try {
    localStorage.setItem(CONFIG_KEY, JSON.stringify(cfg));
  } catch {
    // not kept
  }
}

export function cachedConfig(): AuthConfig | null {
  try {
    const v = JSON.parse(localStorage.getItem(CONFIG_KEY) ?? "null") as AuthConfig | null;
    return v && typeof v.authMode === "string" ? v : null;
  } catch {
    return null;
  }
}
