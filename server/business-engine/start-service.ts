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
import { createApp, type BusinessEngine } from './app.js';
import { readBuildInfo } from './build-info.js';
import { secretId, type EngineConfig } from './config.js';
import { openEngineStore } from './store/open-engine-store.js';
import { redactDatabaseUrl } from '../shared/db/postgres-url.js';
import { SqliteEngineStore } from './store/sqlite-engine-store.js';

/** A listening Business Engine. */
export interface RunningBusinessEngine {
  /** Base URL, e.g. `http://127.0.0.1:8787` (the real port when config.port is 0). */
  readonly url: string;
  readonly server: Server;
  readonly engine: BusinessEngine;
  readonly logger: Logger;
  /**
   * Stops accepting (a request still arriving on an open connection gets 503 `service_unavailable`), lets in-flight
   * requests finish (up to `graceMs`, then closes them), stops the sweep, closes the DB.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Starts the Business Engine from a validated configuration: builds it, listens, starts the credit sweep, and logs
 * its key ids (X-Engine-Auth kids, the service-token kid, the user-JWT secret id), never a secret. main.ts uses it;
 * `npm start` can run it in-process next to TTTranscribe.
 *
 * @example
 * const running = await startBusinessEngine(loadEngineConfig(process.env));
 * process.once('SIGTERM', () => void running.close());
 */
export async function startBusinessEngine(
  config: EngineConfig,
  options: { logger?: Logger } = {},
): Promise<RunningBusinessEngine> {
  const logger = options.logger ?? createLogger({ service: 'business-engine', level: config.logLevel });
  const draining = createDraining();
  // ENGINE_DB: a SQLite file, or PostgreSQL (migrated now); a database that cannot be opened stops the start here.
  const store = await openEngineStore(
    { db: config.dbPath, poolMax: config.dbPoolMax },
    { signupBonus: config.signupBonusCredits, now: Date.now, logger },
  );
  // Rate-limit counters: in memory on SQLite, shared by every replica on PostgreSQL.
  let limits: DatabaseRateLimiterStore;
  let engine: BusinessEngine;
  try {
    limits = await openDatabaseRateLimiterStore({
      database: config.dbPath,
      tableName: 'engine_rate_limits',
      variable: 'ENGINE_DB',
      logger,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  try {
    engine = createApp(config, {
      logger,
      store,
      build: readBuildInfo(process.env),
      before: [draining.middleware],
      rateLimiterStore: limits.limiter,
    });
  } catch (error) {
    await limits.close();
    await store.close();
    throw error;
  }
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = engine.app.listen(config.port, config.host);
      answerClientErrors(s, logger);
      s.once('listening', () => resolve(s));
      s.once('error', reject);
    });
  } catch (error) {
    await engine.close();
    await store.close();
    await limits.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  engine.sweeper.start(config.sweepIntervalSec * 1000);
  // SQLite: WAL checkpoints run on their own thread, not inside whichever request's commit crosses the threshold.
  let checkpoint: ReturnType<typeof startBackgroundCheckpoint> | undefined;
  if (store instanceof SqliteEngineStore) {
    store.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    checkpoint = startBackgroundCheckpoint({ path: config.dbPath, logger });
  }
  logger.info(
    {
      ...instanceStartFields(config.instanceId ?? defaultInstanceId()),
      url,
      tttBaseUrl: config.tttBaseUrl,
      engineAuthKeyIds: config.tttKeys.map((k) => k.keyId),
      serviceTokenKid: config.serviceTokenKey.kid,
      userJwt:
        config.userJwt.mode === 'hs256'
          ? { mode: 'hs256', secretId: secretId('USER_JWT_SECRET', config.userJwt.secret) }
          : { mode: 'jwks', jwksUrl: config.userJwt.jwksUrl },
      db: { backend: store.backend, target: redactDatabaseUrl(config.dbPath) },
      sweepIntervalSec: config.sweepIntervalSec,
      metrics:
        config.metricsToken === undefined
          ? { path: '/metrics', readers: ['ADMIN_TOKEN'] }
          : {
              path: '/metrics',
              readers: ['ENGINE_METRICS_TOKEN', 'ADMIN_TOKEN'],
              metricsTokenId: secretId('ENGINE_METRICS_TOKEN', config.metricsToken),
            },
    },
    'Business Engine listening',
  );

  let closed: Promise<void> | undefined;
  return {
    url,
    server,
    engine,
    logger,
    close({ graceMs = 10_000 } = {}) {
      closed ??= (async () => {
        draining.begin();
        logger.info({ graceMs }, 'Business Engine shutting down');
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        await httpClosed;
        clearTimeout(force);
        await checkpoint?.stop();
        await engine.close();
        await store.close();
        await limits.close();
        logger.info('Business Engine stopped');
        await new Promise<void>((resolve) => logger.flush(() => resolve()));
      })();
      return closed;
    },
  };
}
