import { beforeEach, describe, expect, it } from "vitest";
import { Outbox, retryable, useOutbox, type Pending, type QueueStore } from "./outbox";

class Refusal extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

function memoryQueue(initial: Pending[] = []): QueueStore & { saved: Pending[] } {
  const q = {
    saved: initial,
    load: async () => q.saved,
    save: async (items: Pending[]) => {
      q.saved = items;
    },
    clear: async () => {
      q.saved = [];
    },
  };
  return q;
}

const change = (label: string) => ({ method: "POST" as const, path: `/api/x/${label}`, body: { label }, label });

beforeEach(() => useOutbox.setState({ items: [] }));

describe("Outbox", () => {
  it("sends at once when it can, keeping nothing", async () => {
    const sent: Pending[] = [];
    const q = memoryQueue();
    const box = new Outbox(async (p) => (sent.push(p), { ok: p.label }), q, () => {});
    const r = await box.submit(change("a"));
    expect(r).toEqual({ queued: false, result: { ok: "a" } });
    expect(sent[0]?.key).toMatch(/.{8,}/);
    expect(useOutbox.getState().items).toEqual([]);
    expect(q.saved).toEqual([]);
  });

  it("keeps a change it cannot deliver, on the device, and sends it later with the same key", async () => {
    let online = false;
    const sent: Pending[] = [];
    const q = memoryQueue();
    const box = new Outbox(
      async (p) => {
        sent.push(p);
        if (!online) throw new Refusal(0);
        return {};
      },
      q,
      () => {},
    );
    expect((await box.submit(change("a"))).queued).toBe(true);
    // Behind a kept change, a new one waits its turn (order is kept), without a try.
    expect((await box.submit(change("b"))).queued).toBe(true);
    expect(q.saved.map((p) => p.label)).toEqual(["a", "b"]);
    online = true;
    await box.flush();
    const a = sent.filter((p) => p.label === "a");
    expect(a.length).toBeGreaterThan(1);
    expect(new Set(a.map((p) => p.key)).size).toBe(1); // every try of "a" carries one key
    expect(sent.map((p) => p.label).slice(-2)).toEqual(["a", "b"]); // "a" delivered, then "b", once
    expect(sent.filter((p) => p.label === "b")).toHaveLength(1);
    expect(useOutbox.getState().items).toEqual([]);
    expect(q.saved).toEqual([]);
  });

  it("throws a refusal of a new change and keeps nothing; reports a kept one it drops", async () => {
    const refused: string[] = [];
    const box = new Outbox(async () => Promise.reject(new Refusal(422)), memoryQueue(), (p) => refused.push(p.label));
    await expect(box.submit(change("a"))).rejects.toThrow("HTTP 422");
    expect(useOutbox.getState().items).toEqual([]);
    const kept: Pending = { ...change("old"), key: "k", at: 1 };
    const later = new Outbox(async () => Promise.reject(new Refusal(404)), memoryQueue([kept]), (p) => refused.push(p.label));
    await later.flush();
    expect(refused).toEqual(["old"]);
    expect(useOutbox.getState().items).toEqual([]);
  });

  it("starts from what a previous page kept, and forgets it all on clear", async () => {
    const kept: Pending = { ...change("old"), key: "k", at: 1 };
    const q = memoryQueue([kept]);
    const box = new Outbox(async () => Promise.reject(new Refusal(0)), q, () => {});
    await box.flush();
    expect(useOutbox.getState().items.map((p) => p.key)).toEqual(["k"]);
    await box.clear();
    expect(useOutbox.getState().items).toEqual([]);
    expect(q.saved).toEqual([]);
  });
});

describe("retryable", () => {
  it("tells delivery problems from refusals", () => {
    for (const s of [0, 401, 409, 429, 500, 503]) expect(retryable(new Refusal(s))).toBe(true);
    for (const s of [400, 403, 404, 422]) expect(retryable(new Refusal(s))).toBe(false);
    expect(retryable(new Error("socket"))).toBe(true);
  });
});
