import { readFileSync } from 'node:fs';
import type { Express, RequestHandler } from 'express';
import type { JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { EngineAuthKey } from '../protocol/engine-auth.js';
import type { EngineAuthVerifier } from './auth/engine-auth-verifier.js';
import type { ErrorObserver } from '../shared/errors/error-handler.js';
import type { RateLimiterStore } from '../shared/rate-limit/rate-limiter-store.js';
import type { TrustProxy } from '../shared/config/trust-proxy.js';
import { createServiceApp } from '../shared/http/create-service-app.js';
import type { OpenApiDocument } from '../shared/http/operation-matcher.js';
import { registerJobMetrics } from '../shared/observability/domain-metrics.js';
import { createServiceMetrics, type ServiceMetrics } from '../shared/observability/service-metrics.js';
import { defaultInstanceId, instanceIdHeader } from '../shared/instance/instance-id.js';
import { createTttEngineAuthVerifier, engineAuth } from './auth/engine-auth-middleware.js';
import { metricsTokenAuth } from './auth/metrics-token.js';
import { createServiceTokenVerifier, serviceTokenAuth } from './auth/service-token.js';
import { createTranscriptionJob } from './handlers/create-transcription-job.js';
import { getEngineAuthInfo } from './handlers/get-engine-auth-info.js';
import { getHealth, type BuildInfo } from './handlers/get-health.js';
import { getJobByIdempotencyKey } from './handlers/get-job-by-idempotency-key.js';
import { getJobStatus } from './handlers/get-job-status.js';
import { getMetrics } from './handlers/get-metrics.js';
import { validateEngineAuth } from './handlers/validate-engine-auth.js';
import type { JobDatabase } from './jobs/database.js';
import type { JobProcessor } from './jobs/job-processor.js';
import { JOB_STATES } from './jobs/job-state-counts.js';
import type { JobStore } from './jobs/job-store.js';
import { createJobWorker, type JobWorker } from './jobs/job-worker.js';
import { sqliteStorage, type TttStorage } from './storage.js';
import type { TranscriberProbe } from './transcriber-status.js';
import { DEFAULT_TTT_RATE_LIMITS, tttCallerKey, tttRateLimits, type TttRateLimitConfig } from './ttt-rate-limits.js';

const spec = JSON.parse(
  readFileSync(new URL('../../generated/tttranscribe/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;
const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The JSON body limit: a job request is a URL and a language, far below this. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The part of the configuration the app itself uses; a full `TttConfig` from config.ts fits. */
export interface TttAppConfig {
  /** TTT_TRUST_PROXY: Express's `trust proxy` (whose X-Forwarded-For names the caller); default off. */
  readonly trustProxy?: TrustProxy;
  /** X-Engine-Auth keys, current first (TTT_SHARED_SECRET, TTT_SHARED_SECRET_NEXT). */
  readonly engineAuthKeys: readonly EngineAuthKey[];
  /** TTT_ALLOWED_MEDIA_HOSTS; empty allows any host. */
  readonly allowedMediaHosts: readonly string[];
  readonly workerConcurrency: number;
  readonly jobTimeoutSec: number;
  /** TTT_JOB_LEASE_SEC (default 30). */
  readonly jobLeaseSec?: number;
  /** TTT_JOB_MAX_ATTEMPTS (default 3). */
  readonly jobMaxAttempts?: number;
  /** Validate every response against the spec (tests): a violation becomes a 500 naming the field. */
  readonly validateResponses?: boolean;
  readonly bodyLimitBytes?: number;
  /** TTT_METRICS_TOKEN: the bearer token of GET /metrics; without it metrics are disabled (404). */
  readonly metricsToken?: string;
  /** Names this replica in /health and the X-Instance-Id header; default a random `i-` id. */
  readonly instanceId?: string;
  /** Requests per minute per caller (default DEFAULT_TTT_RATE_LIMITS). */
  readonly rateLimits?: TttRateLimitConfig;
}

/** What the app is built from; tests pass doubles and a frozen clock. */
export interface TttAppDeps {
  /**
   * Jobs and spent nonces (openTttStorage: SQLite or PostgreSQL); the caller closes it after `worker.stop()`.
   * Or `db`, an open SQLite job database (openJobDatabase), wrapped here.
   */
  readonly storage?: TttStorage;
  /** An open SQLite job database, when no `storage` is given; the caller closes it. */
  readonly db?: JobDatabase;
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
  /** Where rate-limit counters live (default: this process's memory). */
  readonly rateLimiterStore?: RateLimiterStore;
}

/** A built TTTranscribe: the Express app (not listening) and its worker, store and verifier. */
export interface TttService {
  readonly app: Express;
  /** Not started: start-service.ts starts it unless TTT_RUN_WORKER=false; tests call `worker.drain()` / `runOnce()`. */
  readonly worker: JobWorker;
  readonly store: JobStore;
  readonly storage: TttStorage;
  readonly verifier: EngineAuthVerifier;
  /** This instance's Prometheus registry and counters (served at GET /metrics). */
  readonly metrics: ServiceMetrics;
}

const unknownTranscriber: TranscriberProbe = () =>
  Promise.resolve({
    engine: 'unknown',
    model: null,
    available: false,
    reason: 'no transcriber probe was configured for this instance',
  });

/**
 * Builds TTTranscribe from its configuration and dependencies, without listening, reading the environment or
 * starting the worker. Operations follow generated/tttranscribe/openapi.json; POST /transcribe checks
 * X-Engine-Auth, then the service token, then the request schema, then the URL rules, then the token's single use.
 *
 * @example
 * const storage = await openTttStorage(config.dbPath, { poolMax: config.dbPoolMax });
 * const ttt = createApp(config, { storage, processor, serviceTokenKeys: loadServiceTokenKeys(config.serviceTokenKeys), logger });
 * const server = ttt.app.listen(config.port, config.host);
 * ttt.worker.start();
 */
export function createApp(config: TttAppConfig, deps: TttAppDeps): TttService {
  const now = deps.now ?? Date.now;
  const bodyLimitBytes = config.bodyLimitBytes ?? BODY_LIMIT_BYTES;
  const storage = deps.storage ?? (deps.db ? sqliteStorage(deps.db, { now }) : undefined);
  if (!storage) throw new TypeError('createApp needs deps.storage (openTttStorage) or deps.db (openJobDatabase)');
  const store = storage.jobs;
  const worker = createJobWorker({
    store,
    processor: deps.processor,
    logger: deps.logger,
    concurrency: config.workerConcurrency,
    jobTimeoutMs: config.jobTimeoutSec * 1000,
    now,
    ...(config.jobLeaseSec ? { leaseMs: config.jobLeaseSec * 1000 } : {}),
    ...(config.jobMaxAttempts ? { maxAttempts: config.jobMaxAttempts } : {}),
    ...(deps.timeoutSignal ? { timeoutSignal: deps.timeoutSignal } : {}),
  });
  const verifier = createTttEngineAuthVerifier(config.engineAuthKeys, now, storage.nonces);
  const signedByEngine = engineAuth({ verifier, bodyLimitBytes });
  const withServiceToken = serviceTokenAuth(createServiceTokenVerifier({ getKey: deps.serviceTokenKeys, now }), now);
  const metrics = createServiceMetrics({ service: 'tttranscribe' });
  registerJobMetrics(metrics.registry, JOB_STATES, () => store.countByState());
  const onError: ErrorObserver = (error, req, res) => {
    metrics.countAuthFailures(error, req, res);
    deps.onError?.(error, req, res);
  };
  const instanceId = config.instanceId ?? defaultInstanceId();
  const build: BuildInfo = deps.build ?? { version: packageVersion, gitSha: null, builtAt: null };
  // Every operation with a credential is limited per caller, after its credential check.
  const limits = tttRateLimits(config.rateLimits ?? DEFAULT_TTT_RATE_LIMITS, deps.rateLimiterStore);
  const engineLimit = limits.limit('engine', tttCallerKey);

  const app = createServiceApp({
    spec,
    logger: deps.logger,
    bodyLimitBytes,
    validateResponses: config.validateResponses ?? false,
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    before: [instanceIdHeader(instanceId), ...(deps.before ?? [])],
    onResponse: [metrics.countResponse],
    onError,
    onClientAbort: metrics.countClientAbort,
    operations: {
      getHealth: {
        handler: getHealth({
          store,
          transcriber: deps.transcriber ?? unknownTranscriber,
          build,
          now,
          startedAt: now(),
          instanceId,
        }),
      },
      getEngineAuthInfo: { handler: getEngineAuthInfo({ verifier, now }) },
      createTranscriptionJob: {
        auth: [signedByEngine, engineLimit, withServiceToken],
        handler: createTranscriptionJob({
          store,
          allowedMediaHosts: config.allowedMediaHosts,
          onQueued: () => worker.notify(),
        }),
      },
      getJobStatus: { auth: [signedByEngine, engineLimit], handler: getJobStatus({ store }) },
      getJobByIdempotencyKey: { auth: [signedByEngine, engineLimit], handler: getJobByIdempotencyKey({ store }) },
      validateEngineAuth: { auth: [signedByEngine, engineLimit], handler: validateEngineAuth({ now }) },
      getMetrics: {
        auth: [
          metricsTokenAuth({
            token: config.metricsToken,
            now,
            logger: deps.logger,
            engineAuthKeys: config.engineAuthKeys,
          }),
          limits.limit('metrics', tttCallerKey),
        ],
        handler: getMetrics({ registry: metrics.registry }),
      },
    },
  });
  return { app, worker, store, storage, verifier, metrics };
}
