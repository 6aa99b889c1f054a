import { defineConfig } from 'vitest/config';

// The app's logic (lib/): pure functions and the session, no browser needed.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  test: { include: ['test/**/*.test.ts'] },
});
