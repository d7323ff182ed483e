// Copies the pinned Redoc bundle (npm `redoc`, exact version in package.json) next to the
// API reference page, after the bundle is written: it is served by the server at
// /api-docs/redoc.standalone.js and, not being part of Vite's bundle, never precached by the
// app's service worker. Its one resource from another origin, the sidebar's Redocly logo, is
// replaced by an empty inline image, so the page loads nothing from a CDN (and its CSP, which
// allows no other origin, reports no violation). The build fails if that URL is not found
// exactly once: a new Redoc version must be looked at again.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Plugin } from "vite";

const LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E";

export function redocAsset(outDir: string): Plugin {
  return {
    name: "maestro-redoc-asset",
    apply: "build",
    closeBundle() {
      const require = createRequire(import.meta.url);
      const bundles = dirname(require.resolve("redoc/bundles/redoc.standalone.js"));
      const target = join(outDir, "api-docs");
      mkdirSync(target, { recursive: true });
      const source = readFileSync(join(bundles, "redoc.standalone.js"), "utf8");
      const parts = source.split(LOGO);
      if (parts.length !== 2) {
        throw new Error(`redoc.standalone.js: expected the logo URL once, found it ${parts.length - 1} times`);
      }
      writeFileSync(join(target, "redoc.standalone.js"), parts.join(EMPTY_IMAGE));
      copyFileSync(
        join(bundles, "redoc.standalone.js.LICENSE.txt"),
        join(target, "redoc.standalone.js.LICENSE.txt"),
      );
    },
  };
}
