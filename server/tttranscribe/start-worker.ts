import type { Logger } from 'pino';
import { createLogger } from '../shared/logging/logger.js';
import { defaultInstanceId, instanceStartFields } from '../shared/instance/instance-id.js';
import type { TttConfig } from './config.js';
import { createEngine } from './engines/create-engine.js';
import type { TranscriptionEngine } from './engines/transcription-engine.js';
import type { JobProcessor } from './jobs/job-processor.js';
import { createJobWorker, type JobWorker } from './jobs/job-worker.js';
import { redactDatabaseUrl } from '../shared/db/postgres-url.js';
import { openTttStorage, type TttStorage } from './storage.js';
import { createMediaProcessor } from './media/create-media-processor.js';
import { warnAboutPrivateCidrs } from './media-config.js';

/** A running worker process's worker. */
export interface RunningTttWorker {
  readonly worker: JobWorker;
  readonly storage: TttStorage;
  readonly logger: Logger;
  /** Stops claiming, lets running jobs finish within `graceMs` (then requeues them), closes the database. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Starts a job worker on its own (no HTTP): opens TTT_DB, builds the media pipeline, and processes jobs with the
 * same lease rules as the API's in-process worker. Any number may run on any host against one PostgreSQL database.
 * `processor` replaces the media pipeline (tests, the sandbox's simulated engine).
 *
 * @example
 * const running = await startTttWorker(loadConfig(process.env, { worker: true }));
 * process.once('SIGTERM', () => void running.close());
 */
export async function startTttWorker(
  config: TttConfig,
  options: { logger?: Logger; processor?: JobProcessor } = {},
): Promise<RunningTttWorker> {
  const logger = options.logger ?? createLogger({ service: 'tttranscribe-worker', level: config.logLevel });
  const { engine, processor } = options.processor
    ? { engine: undefined, processor: options.processor }
    : mediaPipeline(config);
  const storage = await openTttStorage(config.dbPath, { poolMax: config.dbPoolMax });
  const worker = createJobWorker({
    store: storage.jobs,
    processor,
    logger,
    concurrency: config.workerConcurrency,
    jobTimeoutMs: config.jobTimeoutSec * 1000,
    leaseMs: config.jobLeaseSec * 1000,
    maxAttempts: config.jobMaxAttempts,
  });
  worker.start();
  // The worker's own timers are unref'd (in the API the HTTP server keeps the process alive); here this does.
  const keepAlive = setInterval(() => undefined, 60_000);
  logger.info(
    {
      ...instanceStartFields(config.instanceId ?? defaultInstanceId()),
      worker: worker.id,
      db: redactDatabaseUrl(config.dbPath),
      concurrency: config.workerConcurrency,
      jobTimeoutSec: config.jobTimeoutSec,
      leaseSec: config.jobLeaseSec,
      maxAttempts: config.jobMaxAttempts,
      transcriber: engine ? { engine: engine.name, model: engine.model } : 'injected',
    },
    'TTTranscribe worker started',
  );

  warnAboutPrivateCidrs(logger, config.media);

  let closed: Promise<void> | undefined;
  return {
    worker,
    storage,
    logger,
    close({ graceMs = 10_000 } = {}) {
      closed ??= (async () => {
        logger.info({ graceMs }, 'TTTranscribe worker stopping');
        await worker.stop({ graceMs });
        clearInterval(keepAlive);
        await storage.close();
        logger.info('TTTranscribe worker stopped');
        await new Promise<void>((resolve) => logger.flush(() => resolve()));
      })();
      return closed;
    },
  };
}

/** The configured transcription engine and the media pipeline that runs it. */
function mediaPipeline(config: TttConfig): { engine: TranscriptionEngine; processor: JobProcessor } {
  const engine = createEngine(config.media.engine ?? { kind: 'pocketsphinx' });
  return { engine, processor: createMediaProcessor(config.media, { engine }) };
}
