/**
 * A TTTranscribe job worker as its own process: `tsx server/tttranscribe/worker-main.ts` (npm run start:ttt-worker).
 * Reads the same variables as the API (TTT_DB, TTT_WORKER_CONCURRENCY, TTT_JOB_*, the media options; no shared
 * secret), processes jobs until SIGINT/SIGTERM, then finishes or requeues its running jobs and exits.
 */
import { runService } from '../shared/run-service.js';
import { loadConfig } from './config.js';
import { startTttWorker } from './start-worker.js';

await runService({
  name: 'TTTranscribe worker',
  loadConfig: (env) => loadConfig(env, { worker: true }),
  start: startTttWorker,
});
