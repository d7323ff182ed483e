import { afterEach, describe, expect, it, vi } from "vitest";
import { deviceSettings, disablePush, enablePush, keyBytes, utcOffsetMinutes, withMuted } from "./push";

describe("push", () => {
  it("decodes a base64url VAPID key to its 65 bytes", () => {
    const key = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    const bytes = keyBytes(key);
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(4);
  });

  it("gives the UTC offset with the sign people use", () => {
    const d = new Date();
    expect(utcOffsetMinutes(d)).toBe(-d.getTimezoneOffset());
  });

  it("reads the device's settings defensively and mutes one project at a time", () => {
    const store = (v: string | null) => ({ getItem: () => v });
    expect(deviceSettings(store(null))).toEqual({ quietHours: null, mutedProjects: [] });
    expect(deviceSettings(store("not json"))).toEqual({ quietHours: null, mutedProjects: [] });
    const s = deviceSettings(store(JSON.stringify({ mutedProjects: ["a", 3] })));
    expect(s.mutedProjects).toEqual(["a"]);
    expect(withMuted(s, "b", true).mutedProjects).toEqual(["a", "b"]);
    expect(withMuted(s, "a", false).mutedProjects).toEqual([]);
    expect(withMuted(s, "a", true).mutedProjects).toEqual(["a"]);
  });

  describe("with a service worker", () => {
    afterEach(() => vi.unstubAllGlobals());

    function fakeWorker(existing: boolean) {
      const json = { endpoint: "https://push.example/d1", expirationTime: null, keys: { p256dh: "BP", auth: "AU" } };
      const sub = { endpoint: json.endpoint, toJSON: () => json, unsubscribe: vi.fn(async () => true) };
      const pushManager = {
        getSubscription: vi.fn(async () => (existing ? sub : null)),
        subscribe: vi.fn(async () => sub),
      };
      vi.stubGlobal("navigator", { serviceWorker: { ready: Promise.resolve({ pushManager }) } });
      return { sub, pushManager };
    }

    it("subscribes with the server's key and registers the device with its settings", async () => {
      const { pushManager } = fakeWorker(false);
      const calls: [string, string, unknown][] = [];
      const request = async <T,>(m: string, p: string, b?: unknown) => {
        calls.push([m, p, b]);
        return undefined as T;
      };
      const key = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
      const quietHours = { start: "22:00", end: "07:00", utcOffsetMinutes: 60 };
      await enablePush(request, key, { quietHours, mutedProjects: ["p1"] });
      expect(pushManager.subscribe).toHaveBeenCalledWith({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      expect(calls).toEqual([
        [
          "POST",
          "/api/push/subscriptions",
          {
            endpoint: "https://push.example/d1",
            expirationTime: null,
            keys: { p256dh: "BP", auth: "AU" },
            quietHours,
            mutedProjects: ["p1"],
          },
        ],
      ]);
    });

    it("unsubscribes here and on the server", async () => {
      const { sub } = fakeWorker(true);
      const calls: string[] = [];
      await disablePush(async <T,>(m: string, p: string) => {
        calls.push(`${m} ${p}`);
        return undefined as T;
      });
      expect(sub.unsubscribe).toHaveBeenCalled();
      expect(calls).toEqual([`DELETE /api/push/subscriptions?endpoint=${encodeURIComponent("https://push.example/d1")}`]);
    });
  });
});
