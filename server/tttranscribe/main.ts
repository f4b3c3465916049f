/**
 * TTTranscribe's entry point: `tsx server/tttranscribe/main.ts` (npm run start:ttt).
 * Loads `.env` (the repository's, or PLUCT_ENV_FILE) when present (variables already in the environment win), validates the
 * configuration once, starts the service and shuts it down cleanly on SIGINT/SIGTERM.
 */
import { exitOnConfigError } from '../shared/config/env.js';
import { loadEnvFile } from '../shared/config/load-env-file.js';
import { loadConfig, type TttConfig } from './config.js';
import { startTttranscribe } from './start-service.js';

const SERVICE = 'TTTranscribe';
const SHUTDOWN_GRACE_MS = 10_000;

loadEnvFile();

let config: TttConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  exitOnConfigError(SERVICE, error);
}

const running = await startTttranscribe(config).catch((error: unknown) => exitOnConfigError(SERVICE, error));

let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) {
    running.logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  running.logger.info({ signal }, 'signal received');
  const deadline = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS + 5_000);
  deadline.unref();
  running.close({ graceMs: SHUTDOWN_GRACE_MS }).then(
    () => process.exit(0),
    (error: unknown) => {
      running.logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
