import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // First: stop the run at once, naming any missing system tool (ffmpeg, pocketsphinx, espeak-ng, chromium) and
    // its fix. Then one PostgreSQL server for the run (throwaway, or PLUCT_TEST_DATABASE_URL); tests make their own
    // databases.
    globalSetup: ['test/setup/system-tools.ts', 'test/support/postgres-global-setup.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallelism modest so servers started by tests do not starve each other.
    maxWorkers: 2,
  },
});
