import { defineConfig } from 'vite';

// Built to static files that the gateway serves at /ui (apps/server/src/dashboard/static.ts).
export default defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One script and one stylesheet: the app is small, and a single request loads it.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
