// Changes made while the server cannot be reached (issue 27, DECISIONS D35): a reply to an
// agent or a task change is kept on the device (IndexedDB) and sent, in order, when the
// connection is back. Each carries an `Idempotency-Key` fixed when it was made, so sending it
// again after a lost answer never applies it twice: the server answers the first result.

import { createStore, del, get, set, type UseStore } from "idb-keyval";
import { create } from "zustand";

export type Method = "POST" | "PATCH" | "PUT" | "DELETE";

export interface Pending {
  /** The `Idempotency-Key`. */
  key: string;
  method: Method;
  path: string;
  body: unknown;
  /** What it is, for the person ("Reply to Worker: cache"). */
  label: string;
  /** When it was made (ms). */
  at: number;
}

/** Sends one change; rejects with `{status}` (0: the server could not be reached). */
export type Sender = (p: Pending) => Promise<unknown>;

export interface OutboxState {
  items: Pending[];
}

export const useOutbox = create<OutboxState>(() => ({ items: [] }));

/** Whether an error means "not delivered, try again later" (offline, server trouble, the
 * same change still running, signed out) rather than "refused". */
export function retryable(e: unknown): boolean {
  const status = (e as { status?: unknown } | null)?.status;
  return typeof status !== "number" || status === 0 || status === 401 || status === 409 || status === 429 || status >= 500;
}

const KEY = "pending";

/** Where the queue is kept; `null`: memory only (no IndexedDB). */
export interface QueueStore {
  load(): Promise<Pending[]>;
  save(items: Pending[]): Promise<void>;
  clear(): Promise<void>;
}

export function indexedDbQueue(): QueueStore | null {
  if (typeof indexedDB === "undefined") return null;
  let db: UseStore | null = null;
  const s = () => (db ??= createStore("maestro-outbox", "changes"));
  return {
    load: async () => ((await get(KEY, s())) as Pending[] | undefined) ?? [],
    save: (items) => set(KEY, items, s()),
    clear: () => del(KEY, s()),
  };
}

function newKey(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export interface SubmitResult<T> {
  /** Not sent yet: kept for later. */
  queued: boolean;
  /** The server's answer when it was sent now. */
  result?: T;
}

export class Outbox {
  private flushing: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private loaded: Promise<void>;

  constructor(
    private send: Sender,
    private store: QueueStore | null,
    /** A change the server refused while it was being flushed (not the one submitted now). */
    private onRefused: (p: Pending, e: unknown) => void,
  ) {
    this.loaded = (store?.load() ?? Promise.resolve([])).then(
      (items) => {
        // Changes submitted before the queue was read stay after the kept ones.
        useOutbox.setState((s) => ({ items: [...items, ...s.items] }));
      },
      () => {},
    );
  }

  private async persist(): Promise<void> {
    try {
      await this.store?.save(useOutbox.getState().items);
    } catch {
      // Storage refused: the queue lasts as long as the page.
    }
  }

  private async remove(key: string): Promise<void> {
    useOutbox.setState((s) => ({ items: s.items.filter((i) => i.key !== key) }));
    await this.persist();
  }

  /**
   * Sends a change now, or keeps it for later when the server cannot be reached (or when
   * earlier changes still wait: order is kept). A refusal (4xx) is thrown and not kept.
   */
  async submit<T>(change: Omit<Pending, "key" | "at">): Promise<SubmitResult<T>> {
    await this.loaded;
    const item: Pending = { ...change, key: newKey(), at: Date.now() };
    const behind = useOutbox.getState().items.length > 0;
    useOutbox.setState((s) => ({ items: [...s.items, item] }));
    await this.persist();
    if (behind) {
      void this.flush();
      return { queued: true };
    }
    try {
      const result = (await this.send(item)) as T;
      await this.remove(item.key);
      return { queued: false, result };
    } catch (e) {
      if (retryable(e)) return { queued: true };
      await this.remove(item.key);
      throw e;
    }
  }

  /** Sends what is kept, oldest first, until one cannot be delivered yet. Asked while a
   * flush runs, it runs once more after it (the network may have come back meanwhile); the
   * promise settles after that run. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.next ??= this.flushing.then(() => {
        this.next = null;
        return this.flush();
      });
      return this.next;
    }
    this.flushing = this.run().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async run(): Promise<void> {
    await this.loaded;
    for (;;) {
      const next = useOutbox.getState().items[0];
      if (!next) return;
      try {
        await this.send(next);
      } catch (e) {
        if (retryable(e)) return;
        this.onRefused(next, e);
      }
      await this.remove(next.key);
    }
  }

  /** Forgets every kept change (sign-out: they must not go out with another credential). */
  async clear(): Promise<void> {
    useOutbox.setState({ items: [] });
    try {
      await this.store?.clear();
    } catch {
      /* nothing kept */
    }
  }
}
