import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // One PostgreSQL server for the run (throwaway, or PLUCT_TEST_DATABASE_URL); tests make their own databases.
    globalSetup: ['test/support/postgres-global-setup.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallelism modest so servers started by tests do not starve each other.
    maxWorkers: 2,
  },
});
