import { defineConfig } from 'vitest/config';

// The end-to-end tests: the built gateway (which serves the built app) driven in Debian's Chromium.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});
