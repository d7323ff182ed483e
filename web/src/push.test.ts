import { describe, expect, it } from "vitest";
import { keyBytes, utcOffsetMinutes } from "./push";

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
});
