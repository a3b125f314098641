import { defineConfig } from 'vite';

// The memory inspector, built by `npm run build:ui` (vite build ui) into ui/dist, which the server
// serves at /ui (src/http/inspector.ts). Everything is bundled: nothing is loaded from elsewhere.
// Vite's own transformer compiles the TSX (the automatic JSX runtime, from ui/tsconfig.json):
// no React plugin is needed for a build without a dev server.
export default defineConfig({
  base: '/ui/',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
});
