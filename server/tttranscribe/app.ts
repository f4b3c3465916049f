import { readFileSync } from 'node:fs';
import type { Express, RequestHandler } from 'express';
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { EngineAuthKey } from '../protocol/engine-auth.js';
import type { EngineAuthVerifier } from './auth/engine-auth-verifier.js';
import type { ErrorObserver } from '../shared/errors/error-handler.js';
import { createServiceApp } from '../shared/http/create-service-app.js';
import type { OpenApiDocument } from '../shared/http/operation-matcher.js';
import { registerJobMetrics } from '../shared/observability/domain-metrics.js';
import { createServiceMetrics, type ServiceMetrics } from '../shared/observability/service-metrics.js';
import { createTttEngineAuthVerifier, engineAuth } from './auth/engine-auth-middleware.js';
import { metricsTokenAuth } from './auth/metrics-token.js';
import { createServiceTokenVerifier, serviceTokenAuth } from './auth/service-token.js';
import { createTranscriptionJob } from './handlers/create-transcription-job.js';
import { getEngineAuthInfo } from './handlers/get-engine-auth-info.js';
import { getHealth, type BuildInfo } from './handlers/get-health.js';
import { getJobStatus } from './handlers/get-job-status.js';
import { getMetrics } from './handlers/get-metrics.js';
import { validateEngineAuth } from './handlers/validate-engine-auth.js';
import type { JobDatabase } from './jobs/database.js';
import type { JobProcessor } from './jobs/job-processor.js';
import { JOB_STATES, jobStateCounts } from './jobs/job-state-counts.js';
import { createJobStore, type JobStore } from './jobs/job-store.js';
import { createJobWorker, type JobWorker } from './jobs/job-worker.js';
import type { TranscriberProbe } from './transcriber-status.js';

const spec = JSON.parse(readFileSync(new URL('../../generated/tttranscribe/openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;
const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The JSON body limit: a job request is a URL and a language, far below this. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The part of the configuration the app itself uses; a full `TttConfig` from config.ts fits. */
export interface TttAppConfig {
  /** X-Engine-Auth keys, current first (TTT_SHARED_SECRET, TTT_SHARED_SECRET_NEXT). */
  readonly engineAuthKeys: readonly EngineAuthKey[];
  /** TTT_ALLOWED_MEDIA_HOSTS; empty allows any host. */
  readonly allowedMediaHosts: readonly string[];
  readonly workerConcurrency: number;
  readonly jobTimeoutSec: number;
  /** Validate every response against the spec (tests): a violation becomes a 500 naming the field. */
  readonly validateResponses?: boolean;
  readonly bodyLimitBytes?: number;
  /** TTT_METRICS_TOKEN: the bearer token of GET /metrics; without it metrics are disabled (404). */
  readonly metricsToken?: string;
}

/** What the app is built from; tests pass doubles and a frozen clock. */
export interface TttAppDeps {
  /** The job database (openJobDatabase); the caller closes it after `worker.stop()`. */
  readonly db: JobDatabase;
  /** Turns a job into a transcript: createMediaProcessor in production, a double in tests. */
  readonly processor: JobProcessor;
  /** Keys that verify service tokens (loadServiceTokenKeys, or a local JWKS in tests). */
  readonly serviceTokenKeys: JWTVerifyGetKey;
  readonly logger: Logger;
  /** Clock in ms for X-Engine-Auth, service tokens, job times and health (default Date.now). */
  readonly now?: () => number;
  /** GET /health's transcriber report (createTranscriberProbe); without one, health says it is unknown. */
  readonly transcriber?: TranscriberProbe;
  readonly build?: BuildInfo;
  /** Per-job time-limit signal (default AbortSignal.timeout). */
  readonly timeoutSignal?: (ms: number) => AbortSignal;
  /** Middleware run first on every request (e.g. metrics). */
  readonly before?: RequestHandler[];
  readonly onError?: ErrorObserver;
}

/** A built TTTranscribe: the Express app (not listening) and its worker, store and verifier. */
export interface TttService {
  readonly app: Express;
  /** Not started: main.ts calls `worker.start()`; tests call `worker.drain()` / `runOnce()`. */
  readonly worker: JobWorker;
  readonly store: JobStore;
  readonly verifier: EngineAuthVerifier;
  /** This instance's Prometheus registry and counters (served at GET /metrics). */
  readonly metrics: ServiceMetrics;
}

const unknownTranscriber: TranscriberProbe = () =>
  Promise.resolve({ engine: 'unknown', model: null, available: false, reason: 'no transcriber probe was configured for this instance' });

/**
 * Builds TTTranscribe from its configuration and dependencies, without listening, reading the environment or
 * starting the worker. Operations follow generated/tttranscribe/openapi.json; POST /transcribe checks
 * X-Engine-Auth, then the service token, then the request schema, then the URL rules, then the token's single use.
 *
 * @example
 * const db = openJobDatabase(config.dbPath);
 * const ttt = createApp(config, { db, processor, serviceTokenKeys: loadServiceTokenKeys(config.serviceTokenKeys), logger });
 * const server = ttt.app.listen(config.port, config.host);
 * ttt.worker.start();
 */
export function createApp(config: TttAppConfig, deps: TttAppDeps): TttService {
  const now = deps.now ?? Date.now;
  const bodyLimitBytes = config.bodyLimitBytes ?? BODY_LIMIT_BYTES;
  const store = createJobStore(deps.db, { now });
  const worker = createJobWorker({
    store,
    processor: deps.processor,
    logger: deps.logger,
    concurrency: config.workerConcurrency,
    jobTimeoutMs: config.jobTimeoutSec * 1000,
    now,
    ...(deps.timeoutSignal ? { timeoutSignal: deps.timeoutSignal } : {}),
  });
  const verifier = createTttEngineAuthVerifier(config.engineAuthKeys, now);
  const signedByEngine = engineAuth({ verifier, bodyLimitBytes });
  const withServiceToken = serviceTokenAuth(createServiceTokenVerifier({ getKey: deps.serviceTokenKeys, now }), now);
  const metrics = createServiceMetrics({ service: 'tttranscribe' });
  registerJobMetrics(metrics.registry, JOB_STATES, jobStateCounts(deps.db));
  const onError: ErrorObserver = (error, req, res) => {
    metrics.countAuthFailures(error, req, res);
    deps.onError?.(error, req, res);
  };
  const build: BuildInfo = deps.build ?? { version: packageVersion, gitSha: null, builtAt: null, node: process.version };

  const app = createServiceApp({
    spec,
    logger: deps.logger,
    bodyLimitBytes,
    validateResponses: config.validateResponses ?? false,
    before: deps.before ?? [],
    onResponse: [metrics.countResponse],
    onError,
    operations: {
      getHealth: {
        handler: getHealth({ store, transcriber: deps.transcriber ?? unknownTranscriber, build, now, startedAt: now() }),
      },
      getEngineAuthInfo: { handler: getEngineAuthInfo({ verifier, now }) },
      createTranscriptionJob: {
        auth: [signedByEngine, withServiceToken],
        handler: createTranscriptionJob({ store, allowedMediaHosts: config.allowedMediaHosts, onQueued: () => worker.notify() }),
      },
      getJobStatus: { auth: signedByEngine, handler: getJobStatus({ store }) },
      validateEngineAuth: { auth: signedByEngine, handler: validateEngineAuth({ now }) },
      getMetrics: {
        auth: metricsTokenAuth({ token: config.metricsToken, now, logger: deps.logger, engineAuthKeys: config.engineAuthKeys }),
        handler: getMetrics({ registry: metrics.registry }),
      },
    },
  });
  return { app, worker, store, verifier, metrics };
}
