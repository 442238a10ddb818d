import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Separate processes: native code, fork() and guard-page tests must not
    // share a worker with unrelated suites.
    pool: 'forks',
    env: { TESSERA_TEST_HOOKS: '1' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
