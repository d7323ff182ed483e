// Emits `sw.js` at the root of dist: the service worker with the exact list of shell files of
// this build (hashed assets, index.html, manifest, icons) and a cache name derived from them.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));

function publicFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...publicFiles(join(dir, e.name), rel));
    else if (rel !== "/sw.js") out.push(rel);
  }
  return out;
}

export function serviceWorker(): Plugin {
  return {
    name: "maestro-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const assets = Object.keys(bundle).map((f) => `/${f}`);
      const shell = ["/index.html", ...publicFiles(join(here, "../public")), ...assets]
        .filter((v, i, a) => a.indexOf(v) === i)
        .sort();
      const version = createHash("sha256").update(shell.join("\n")).digest("hex").slice(0, 12);
      const template = readFileSync(join(here, "sw-template.js"), "utf8");
      const source = template
        .replace("__VERSION__", JSON.stringify(version))
        .replace("__SHELL__", JSON.stringify(shell));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}
