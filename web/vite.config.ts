import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/** Where `npm run dev`-style work proxies API calls: a local `assistd serve` on its default port. */
const devServerTarget = 'http://127.0.0.1:18789';

/**
 * The console's build. The server answers `/` with dist/console/index.html and serves the files
 * under dist/console/assets at `/console/assets/…`, so every asset URL starts with `/console/`.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: '../dist/console',
    assetsDir: 'assets',
    emptyOutDir: true,
    // Every browser the console supports has <link rel="modulepreload">; the polyfill is dead weight.
    modulePreload: { polyfill: false },
    // The CSP has no 'unsafe-inline' for styles or scripts and no data: fonts: keep every asset a file.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/v1': devServerTarget,
      '/console/session': devServerTarget,
      '/admin': devServerTarget,
    },
  },
});
