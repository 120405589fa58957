import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['client/**/*.test.ts', 'codec/**/*.test.ts', 'server/**/*.test.ts', 'storage/**/*.test.ts', 'compat-tests/**/*.test.ts', 'scripts/**/*.test.ts', 'testing/**/*.test.ts'],
    // One private MariaDB for the whole run; each test file makes its own database in it.
    globalSetup: ['compat-tests/support/global-setup.ts'],
    // vitest's own summary, then a plain `N passed, N failed` closing line.
    reporters: ['default', './compat-tests/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
  },
});
