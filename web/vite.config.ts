import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { serviceWorker } from "./build/sw-plugin.ts";
import { redocAsset } from "./build/redoc-plugin.ts";
import { precompress } from "./build/compress-plugin.ts";

const target = process.env.MAESTRO_SERVER ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [
    react(),
    serviceWorker(),
    redocAsset(fileURLToPath(new URL("./dist", import.meta.url))),
    // Last: compresses what the others wrote.
    precompress(fileURLToPath(new URL("./dist", import.meta.url))),
  ],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The server's CSP has no 'unsafe-inline': no inline module-preload polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL("./index.html", import.meta.url)),
        apiDocs: fileURLToPath(new URL("./api-docs.html", import.meta.url)),
      },
    },
  },
  server: {
    proxy: {
      "/api": { target, changeOrigin: false },
      "/health": { target },
      "/socket.io": { target, ws: true },
    },
  },
  preview: {
    proxy: {
      "/api": { target },
      "/health": { target },
      "/socket.io": { target, ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
