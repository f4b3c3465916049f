import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Stops the run at once, naming any missing system tool (ffmpeg, pocketsphinx, espeak-ng, chromium) and its fix.
    globalSetup: ['test/setup/system-tools.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: keep parallelism modest so servers started by tests do not starve each other.
    maxWorkers: 2,
  },
});
