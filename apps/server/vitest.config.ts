import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 15_000,
    hookTimeout: 15_000,
    // Integration tests start real servers; keep the 2-core machine from oversubscribing.
    maxWorkers: 2,
  },
});
