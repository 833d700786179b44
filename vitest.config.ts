import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // A skipped suite must be visible, never silent: the summary counts skipped tests.
    passWithNoTests: false,
    env: { DRIMBOX_LOG_LEVEL: 'error' },
  },
});
