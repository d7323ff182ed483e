// Precompresses the build: next to every text file of 1 KB or more in the output directory it
// writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9), each only when it
// is smaller. The server picks one by the request's Accept-Encoding (with `Vary`), so the
// first load on a slow phone link costs the compressed bytes and no CPU per request. Runs last,
// after every other plugin has written its files (the service worker, the Redoc bundle).
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";

const TEXT = /\.(html|js|mjs|css|json|svg|webmanifest|txt|map)$/i;
const MIN_BYTES = 1024;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

export function precompress(outDir: string): Plugin {
  return {
    name: "maestro-precompress",
    apply: "build",
    closeBundle: {
      order: "post",
      sequential: true,
      handler() {
        for (const path of files(outDir)) {
          if (!TEXT.test(path)) continue;
          const raw = readFileSync(path);
          if (raw.length < MIN_BYTES) continue;
          const br = brotliCompressSync(raw, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: 11,
              [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
            },
          });
          if (br.length < raw.length) writeFileSync(`${path}.br`, br);
          const gz = gzipSync(raw, { level: 9 });
          if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz);
        }
      },
    },
  };
}
