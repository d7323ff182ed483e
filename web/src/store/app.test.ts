import { describe, expect, it, vi } from "vitest";
import { useApp } from "./app";

describe("toasts", () => {
  it("show one at a time: the newest replaces the one showing, and leaves after 6 s", () => {
    vi.useFakeTimers();
    try {
      const { toast } = useApp.getState();
      toast({ text: "Reply sent to A." });
      toast({ text: "Mail sent." });
      toast({ text: "Answer sent to B." });
      expect(useApp.getState().toasts.map((t) => t.text)).toEqual(["Answer sent to B."]);
      vi.advanceTimersByTime(6000);
      expect(useApp.getState().toasts).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
