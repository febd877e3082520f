import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * `vite build --config api/src/dashboard/web/vite.config.mts` → dist-dashboard/ at the repository
 * root (not dist/: the Nest build empties dist/ first). DashboardModule serves it at `/`.
 */
export default defineConfig({
  root: here,
  base: './',
  build: {
    outDir: fileURLToPath(new URL('../../../../dist-dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `vite --config …` during development: the API on its default port answers /v1.
    proxy: { '/v1': 'http://127.0.0.1:3000' },
  },
});
