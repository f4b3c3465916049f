import type { Server } from 'node:http';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startBackgroundCheckpoint } from '../shared/db/background-checkpoint.js';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { answerClientErrors } from '../shared/http/client-errors.js';
import { createDraining } from '../shared/http/draining.js';
import { createLogger } from '../shared/logging/logger.js';
import { defaultInstanceId, instanceStartFields } from '../shared/instance/instance-id.js';
import {
  openDatabaseRateLimiterStore,
  type DatabaseRateLimiterStore,
} from '../shared/rate-limit/database-rate-limiter-store.js';
import { createApp, type TttService } from './app.js';
import { describeKeySource, loadServiceTokenKeys } from './auth/service-token-keys.js';
import type { TttConfig } from './config.js';
import { createEngine } from './engines/create-engine.js';
import { redactDatabaseUrl } from '../shared/db/postgres-url.js';
import { openTttStorage } from './storage.js';
import { createMediaProcessor } from './media/create-media-processor.js';
import { createTranscriberProbe } from './transcriber-status.js';
import { warnAboutPrivateCidrs } from './media-config.js';

/** A listening TTTranscribe. */
export interface RunningTttranscribe {
  /** Base URL, e.g. `http://127.0.0.1:8788` (the real port when config.port is 0). */
  readonly url: string;
  readonly server: Server;
  readonly service: TttService;
  readonly logger: Logger;
  /**
   * Stops accepting (a request still arriving on an open connection gets 503 `service_unavailable`), lets in-flight
   * requests and jobs finish (jobs up to `graceMs`, then requeued), closes the database.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Starts TTTranscribe from a validated configuration: opens TTT_DB (SQLite file or PostgreSQL; refuses to start,
 * naming TTT_DB and the cause, when it is unreachable or its schema is newer), builds the media pipeline and its
 * engine, the service-token key source (a remote JWKS is fetched lazily, so start order does not matter), listens,
 * starts the in-process worker unless TTT_RUN_WORKER=false (workers then run as `npm run start:ttt-worker`), and
 * logs the key ids, never a secret.
 * main.ts uses it; `npm start` can run it in-process next to the Business Engine.
 *
 * @example
 * const ttt = await startTttranscribe(loadConfig(process.env));
 * process.once('SIGTERM', () => void ttt.close());
 */
export async function startTttranscribe(
  config: TttConfig,
  options: { logger?: Logger } = {},
): Promise<RunningTttranscribe> {
  const logger = options.logger ?? createLogger({ service: 'tttranscribe', level: config.logLevel });
  const serviceTokenKeys = loadServiceTokenKeys(config.serviceTokenKeys);
  const engine = createEngine(config.media.engine ?? { kind: 'pocketsphinx' });
  const processor = createMediaProcessor(config.media, { engine });
  const transcriber = createTranscriberProbe({
    engine,
    ...(config.media.ffmpegPath ? { ffmpegPath: config.media.ffmpegPath } : {}),
  });
  const storage = await openTttStorage(config.dbPath, { poolMax: config.dbPoolMax });
  // Rate-limit counters: in memory on SQLite, shared by every replica on PostgreSQL.
  let limits: DatabaseRateLimiterStore;
  try {
    limits = await openDatabaseRateLimiterStore({
      database: config.dbPath,
      tableName: 'ttt_rate_limits',
      variable: 'TTT_DB',
      logger,
    });
  } catch (error) {
    await storage.close();
    throw error;
  }
  const draining = createDraining();
  const service = createApp(config, {
    storage,
    processor,
    serviceTokenKeys,
    logger,
    transcriber,
    before: [draining.middleware],
    rateLimiterStore: limits.limiter,
  });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = service.app.listen(config.port, config.host);
      answerClientErrors(s, logger);
      s.once('listening', () => resolve(s));
      s.once('error', reject);
    });
  } catch (error) {
    await storage.close();
    await limits.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (config.runWorker) service.worker.start();
  // WAL checkpoints run on their own thread, not inside whichever request's commit crosses the threshold.
  storage.sqlite?.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
  const checkpoint = storage.sqlite ? startBackgroundCheckpoint({ path: config.dbPath, logger }) : undefined;
  logger.info(
    {
      ...instanceStartFields(config.instanceId ?? defaultInstanceId()),
      url,
      engineAuthKeyIds: config.engineAuthKeys.map((k) => k.keyId),
      serviceTokenKeys: describeKeySource(config.serviceTokenKeys),
      db: redactDatabaseUrl(config.dbPath),
      worker: config.runWorker
        ? { id: service.worker.id, leaseSec: config.jobLeaseSec, maxAttempts: config.jobMaxAttempts }
        : 'off (TTT_RUN_WORKER=false)',
      allowedMediaHosts: config.allowedMediaHosts.length > 0 ? config.allowedMediaHosts : 'any',
      workerConcurrency: config.workerConcurrency,
      jobTimeoutSec: config.jobTimeoutSec,
      transcriber: { engine: engine.name, model: engine.model },
      metrics:
        config.metricsToken === undefined
          ? 'disabled: set TTT_METRICS_TOKEN to serve GET /metrics'
          : 'GET /metrics with TTT_METRICS_TOKEN',
    },
    'TTTranscribe listening',
  );
  warnAboutPrivateCidrs(logger, config.media);
  void transcriber().then((status) => {
    if (!status.available)
      logger.warn(
        { transcriber: status },
        'no speech engine available: jobs will fail with transcription_engine_unavailable',
      );
  });

  let closed: Promise<void> | undefined;
  return {
    url,
    server,
    service,
    logger,
    close({ graceMs = 10_000 } = {}) {
      closed ??= (async () => {
        draining.begin();
        logger.info({ graceMs }, 'TTTranscribe shutting down');
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        await Promise.all([httpClosed, service.worker.stop({ graceMs })]);
        clearTimeout(force);
        await checkpoint?.stop();
        await storage.close();
        await limits.close();
        logger.info('TTTranscribe stopped');
        await new Promise<void>((resolve) => logger.flush(() => resolve()));
      })();
      return closed;
    },
  };
}
