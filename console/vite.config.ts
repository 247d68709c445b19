// The console's build: dist/ is committed and embedded in the server binary, so the build
// must be deterministic (no timestamps, stable hashed names) and self-contained (no CDN).
import { defineConfig } from "vite";

export default defineConfig({
  // sockjs-client reads Node's `global`.
  define: { global: "globalThis" },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    // Only index.html may be inline-free: the CSP forbids inline scripts and styles.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/sockjs": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
});
