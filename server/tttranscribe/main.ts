/**
 * TTTranscribe's entry point: `tsx server/tttranscribe/main.ts` (npm run start:ttt).
 * Loads `.env` (the repository's, or PLUCT_ENV_FILE) when present, validates the configuration once, starts the
 * service and shuts it down cleanly on SIGINT/SIGTERM.
 */
import { runService } from '../shared/run-service.js';
import { loadConfig } from './config.js';
import { startTttranscribe } from './start-service.js';

await runService({ name: 'TTTranscribe', loadConfig, start: startTttranscribe });
