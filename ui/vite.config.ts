/**
 * The dashboards' bundle (`make ui-build`): preact + chart.js bundled by vite into `ui/dist`, which the
 * API serves as static files under `/ui/` (services/api/ui-routes.ts). No CDN: everything the page
 * loads comes from that folder.
 */
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const root = new URL(".", import.meta.url).pathname;

export default defineConfig({
  root,
  base: "/ui/",
  plugins: [preact({ devToolsEnabled: false, prefreshEnabled: false })],
  build: {
    outDir: `${root}dist`,
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
});
