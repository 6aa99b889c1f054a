import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test talks to a local fake and must stay well under two seconds.
    testTimeout: 2000,
    hookTimeout: 2000,
  },
});
