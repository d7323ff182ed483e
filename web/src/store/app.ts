// The app's store: the live project state (pure reducer) plus connection, auth and UI state.

import { create } from "zustand";
import { initialState, reduce, type Action, type State } from "./reducer";
import type { AuthMode } from "../api/client";

export type ConnStatus = "idle" | "connecting" | "live" | "syncing" | "offline" | "refused";

export interface Toast {
  id: number;
  text: string;
  href?: string;
  tone?: "info" | "warn" | "error";
}

export interface AppStore {
  live: State;
  conn: {
    status: ConnStatus;
    error?: string;
    lastSyncAt?: number;
    attempts: number;
    /** Events replayed by the last resume (undefined after a full snapshot). */
    resumed?: number;
    /** Shown from the device's copy, synced then (ms), until the server answers. */
    cachedAt?: number;
  };
  auth: {
    /** null while the server's auth config is loading. */
    mode: AuthMode | null;
    supabase: { url: string; anonKey: string } | null;
    /** Credentials present (or none needed). */
    signedIn: boolean;
    email?: string;
    error?: string;
    /** Why spawning cannot work on this server, from its client config (null: it can). */
    spawnUnavailable?: string | null;
    /** The server's VAPID key for Web Push (null: it does not push). */
    pushKey?: string | null;
  };
  toasts: Toast[];
  dispatch: (a: Action) => void;
  setConn: (c: Partial<AppStore["conn"]>) => void;
  setAuth: (a: Partial<AppStore["auth"]>) => void;
  toast: (t: Omit<Toast, "id">) => void;
  dismiss: (id: number) => void;
}

let toastSeq = 0;

export const useApp = create<AppStore>((set) => ({
  live: initialState(null),
  conn: { status: "idle", attempts: 0 },
  auth: { mode: null, supabase: null, signedIn: false },
  toasts: [],
  dispatch: (a) => set((s) => {
    const live = reduce(s.live, a);
    return live === s.live ? s : { live };
  }),
  setConn: (c) => set((s) => ({ conn: { ...s.conn, ...c } })),
  setAuth: (a) => set((s) => ({ auth: { ...s.auth, ...a } })),
  toast: (t) => {
    const id = ++toastSeq;
    // One at a time: the newest replaces the one showing, so toasts never stack over the
    // content (issue 27); what they said stays in "Recent events" and the inbox.
    set({ toasts: [{ ...t, id }] });
    setTimeout(() => set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) })), 6000);
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) })),
}));
