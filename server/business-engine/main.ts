/**
 * The Business Engine's entry point: `tsx server/business-engine/main.ts` (npm run start:engine).
 * Loads `.env` (the repository's, or PLUCT_ENV_FILE) when present, validates the configuration once, starts the
 * service and shuts it down cleanly on SIGINT/SIGTERM.
 */
import { runService } from '../shared/run-service.js';
import { loadEngineConfig } from './config.js';
import { startBusinessEngine } from './start-service.js';

await runService({ name: 'Business Engine', loadConfig: loadEngineConfig, start: startBusinessEngine });
