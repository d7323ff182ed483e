// Event ids of a project's log (`<ms>-<seq>`, the second argument of every `/mobile` event):
// compared numerically, and remembered so that an event replayed on resume and routed live
// right after it is applied once.

/** Parses `<ms>-<seq>`; `null` for anything else. */
export function parseEventId(id: string): [number, number] | null {
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(id);
  if (!m) return null;
  return [Number(m[1]), Number(m[2])];
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareEventIds(a: string, b: string): number {
  const x = parseEventId(a);
  const y = parseEventId(b);
  if (!x || !y) return 0;
  return x[0] - y[0] || x[1] - y[1];
}

/** The latest ids seen (bounded) and the newest one, to resume after. */
export class SeenEventIds {
  private order: string[] = [];
  private set = new Set<string>();
  newest: string | null = null;

  constructor(private readonly keep = 2000) {}

  /** Records `id`; false when it was seen already (drop the event). */
  add(id: string): boolean {
    if (parseEventId(id) === null) return true;
    if (this.set.has(id)) return false;
    this.set.add(id);
    this.order.push(id);
    if (this.order.length > this.keep) {
      const old = this.order.shift();
      if (old !== undefined) this.set.delete(old);
    }
    this.advance(id);
    return true;
  }

  /** Moves `newest` forward to `id` (a snapshot's `lastEventId`). */
  advance(id: string): void {
    if (parseEventId(id) === null) return;
    if (this.newest === null || compareEventIds(id, this.newest) > 0) this.newest = id;
  }

  clear(): void {
    this.order = [];
    this.set.clear();
    this.newest = null;
  }
}
