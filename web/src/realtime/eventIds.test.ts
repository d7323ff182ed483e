import { describe, expect, it } from "vitest";
import { SeenEventIds, compareEventIds, parseEventId } from "./eventIds";

describe("event ids", () => {
  it("parse only <ms>-<seq>", () => {
    expect(parseEventId("1733313600000-7")).toEqual([1733313600000, 7]);
    for (const bad of ["", "1", "a-1", "1-2-3", " 1-2", "1-"]) expect(parseEventId(bad)).toBeNull();
  });

  it("compare numerically, part by part", () => {
    expect(compareEventIds("5-10", "5-9")).toBeGreaterThan(0);
    expect(compareEventIds("4-99", "5-0")).toBeLessThan(0);
    expect(compareEventIds("5-1", "5-1")).toBe(0);
  });

  it("drop repeats and keep the newest id", () => {
    const seen = new SeenEventIds(3);
    expect(seen.add("1-0")).toBe(true);
    expect(seen.add("1-2")).toBe(true);
    expect(seen.add("1-0")).toBe(false);
    expect(seen.add("1-1")).toBe(true); // late, older: applied, newest unchanged
    expect(seen.newest).toBe("1-2");
    seen.add("2-0");
    expect(seen.add("1-0")).toBe(true); // forgotten past `keep`
    seen.advance("0-5");
    expect(seen.newest).toBe("2-0");
    seen.advance("9-0");
    expect(seen.newest).toBe("9-0");
    seen.clear();
    expect(seen.newest).toBeNull();
  });
});
