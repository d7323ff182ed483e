// WCAG AA contrast of the colour pairs the stylesheet uses, in both themes (parsed from
// styles.css, so a palette change that breaks AA fails here).
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const css = readFileSync(fileURLToPath(new URL("./styles.css", import.meta.url)), "utf8");

function block(selector: string): Record<string, string> {
  const i = css.indexOf(selector);
  if (i < 0) throw new Error(`no ${selector} block`);
  const open = css.indexOf("{", i);
  const close = css.indexOf("}", open);
  const vars: Record<string, string> = {};
  for (const m of css.slice(open + 1, close).matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})/g)) {
    if (m[1] && m[2]) vars[m[1]] = m[2];
  }
  return vars;
}

function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = c.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

// [foreground, background] pairs of text actually drawn on screen.
const PAIRS: [string, string][] = [
  ["text", "bg"],
  ["text", "surface"],
  ["text", "surface-2"],
  ["muted", "bg"],
  ["muted", "surface"],
  ["muted", "surface-2"],
  ["link", "surface"],
  ["link", "bg"],
  ["primary", "surface"],
  ["primary-text", "primary"],
  ["danger", "surface"],
  ["input-text", "input-bg"],
  ["b-working", "b-working-bg"],
  ["b-spawning", "b-spawning-bg"],
  ["b-idle", "b-idle-bg"],
  ["b-failed", "b-failed-bg"],
  ["b-completed", "b-completed-bg"],
  ["bg", "text"], // toasts
];

describe("colour contrast (WCAG AA, 4.5:1 for text)", () => {
  const themes = {
    light: block(":root {"),
    dark: { ...block(":root {"), ...block(':root[data-theme="dark"] {') },
  };
  for (const [name, vars] of Object.entries(themes)) {
    it(`${name} theme`, () => {
      const failures: string[] = [];
      for (const [fg, bg] of PAIRS) {
        const a = vars[fg];
        const b = vars[bg];
        expect(a, `--${fg}`).toBeDefined();
        expect(b, `--${bg}`).toBeDefined();
        const r = contrast(a as string, b as string);
        if (r < 4.5) failures.push(`--${fg} on --${bg}: ${r.toFixed(2)}`);
      }
      expect(failures).toEqual([]);
    });
  }

  it("the system dark palette equals the explicit dark theme", () => {
    const sys = block(':root:not([data-theme="light"]) {');
    const dark = block(':root[data-theme="dark"] {');
    expect(sys).toEqual(dark);
  });

  it("the checker itself: black on white is 21:1, grey on white fails", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#999999", "#ffffff")).toBeLessThan(4.5);
  });
});
