import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { createServiceApp } from '../shared/http/create-service-app.js';
import { defaultInstanceId, instanceIdHeader } from '../shared/instance/instance-id.js';
import type { OpenApiDocument } from '../shared/http/operation-matcher.js';
import type { RateLimiterStore } from '../shared/rate-limit/rate-limiter-store.js';
import { registerCreditMetrics } from '../shared/observability/domain-metrics.js';
import { createServiceMetrics, type ServiceMetrics } from '../shared/observability/service-metrics.js';
import { registerUpstreamMetrics } from './upstream/upstream-metrics.js';
import type { AuthDeps } from './auth/auth-deps.js';
import { ConfiguredToken } from './auth/bearer-kind.js';
import { requireAdmin } from './auth/require-admin.js';
import { requireJobReader } from './auth/require-job-reader.js';
import { requireMetricsReader } from './auth/require-metrics-reader.js';
import { requireServiceToken } from './auth/require-service-token.js';
import { requireUser } from './auth/require-user.js';
import { createUserJwtVerifier } from './auth/user-jwt-verifier.js';
import { readBuildInfo, type BuildInfo } from './build-info.js';
import type { EngineConfig } from './config.js';
import type { EngineStore } from './db/engine-store.js';
import { isPostgresUrl } from '../shared/db/postgres-url.js';
import { openSqliteEngineStore } from './store/sqlite-engine-store.js';
import { createIntegrationToken } from './handlers/create-integration-token.js';
import { getAdminConfig } from './handlers/get-admin-config.js';
import { getCreditBalance } from './handlers/get-credit-balance.js';
import { getHealth, healthKeyIds } from './handlers/get-health.js';
import { getJwks } from './handlers/get-jwks.js';
import { getMetrics } from './handlers/get-metrics.js';
import { getTranscriptionStatus } from './handlers/get-transcription-status.js';
import { getTttIntegrationHealth } from './handlers/get-ttt-integration-health.js';
import { grantCredits } from './handlers/grant-credits.js';
import { listCreditLedger } from './handlers/list-credit-ledger.js';
import { listIntegrationTokens } from './handlers/list-integration-tokens.js';
import { revokeIntegrationToken } from './handlers/revoke-integration-token.js';
import { submitTranscription, type SubmissionFaultPoint } from './handlers/submit-transcription.js';
import { vendToken } from './handlers/vend-token.js';
import { engineCallerKey, engineRateLimits } from './http/engine-rate-limits.js';
import { cachedIntegrationCheck } from './health/cached-integration-check.js';
import { checkTttIntegration } from './health/integration-check.js';
import { IntegrationTokenVerifier } from './integrations/integration-token-verifier.js';
import { STUCK_SUBMITTING_MS, Sweeper } from './jobs/sweeper.js';
import { ServiceTokenKeys, type SignServiceToken } from './tokens/service-token-keys.js';
import { TokenVendor } from './tokens/token-vendor.js';
import { DEFAULT_UPSTREAM_POLICY, TttUpstream, type UpstreamPolicy } from './upstream/ttt-upstream.js';

const spec = JSON.parse(
  readFileSync(new URL('../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;

/** Scopes that may read credits: `credits:read`, or `ttt:transcribe` (an app that may spend may see its balance). */
export const CREDIT_READ_SCOPES = ['credits:read', 'ttt:transcribe'] as const;
export const TRANSCRIBE_SCOPE = 'ttt:transcribe';

/** What the engine is built from besides its configuration; everything but the logger has a default. */
export interface EngineDeps {
  readonly logger: Logger;
  /**
   * An open store (the caller closes it). By default the engine opens config.dbPath as SQLite and closes it in
   * close(); a PostgreSQL ENGINE_DB must be opened first (async: migrations) with openEngineStore, as
   * startBusinessEngine does.
   */
  readonly store?: EngineStore;
  /** Clock in ms for tokens, the ledger, the sweep and X-Engine-Auth timestamps (tests freeze it). */
  readonly now?: () => number;
  /** Validate every response against the spec (tests). */
  readonly validateResponses?: boolean;
  /** Circuit breaker and retry knobs (the timeout comes from UPSTREAM_TIMEOUT_MS). */
  readonly upstreamPolicy?: Partial<Omit<UpstreamPolicy, 'timeoutMs'>>;
  /** Wraps the service-token signer (tests: a failing signer). */
  readonly decorateSigner?: (sign: SignServiceToken) => SignServiceToken;
  readonly build?: BuildInfo;
  /** Called at each point of a submission where a crash leaves work to recover (tests make it throw). */
  readonly faultPoint?: (point: SubmissionFaultPoint) => void;
  /** Middleware run first on every request, after the engine's own metrics (e.g. the shutdown drain). */
  readonly before?: RequestHandler[];
  /** Where rate-limit counters live (default: this process's memory). */
  readonly rateLimiterStore?: RateLimiterStore;
}

/** A built Business Engine: the Express app (not listening) and what main.ts and tests drive around it. */
export interface BusinessEngine {
  readonly app: Express;
  /** The credit sweep: `runOnce()` in tests, `start(ms)` in main.ts. */
  readonly sweeper: Sweeper;
  /** The storage (SQLite or PostgreSQL) behind the ledger, tokens and integration tokens. */
  readonly store: EngineStore;
  /** The signed TTTranscribe gateway (its `sent` counter and `circuitState` are observable). */
  readonly upstream: TttUpstream;
  /** This instance's Prometheus registry and counters (served at GET /metrics). */
  readonly metrics: ServiceMetrics;
  /** Stops the sweep, closes upstream connections and the circuit, and closes the database if the engine opened it. */
  close(): Promise<void>;
}

/**
 * Builds the Business Engine: user JWT verification, the SQLite credit ledger and token table, service-token
 * vending, the signed proxy to TTTranscribe with its circuit breaker, per-user rate limits, the credit sweep,
 * the integration check and admin endpoints, all behind createServiceApp (request ids, spec validation,
 * problem+json). It does not listen and reads no environment.
 *
 * @example
 * const engine = createApp(loadEngineConfig(process.env), { logger });
 * const server = engine.app.listen(config.port, config.host);
 * engine.sweeper.start(config.sweepIntervalSec * 1000);
 */
export function createApp(config: EngineConfig, deps: EngineDeps): BusinessEngine {
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const ownsStore = deps.store === undefined;
  if (ownsStore && isPostgresUrl(config.dbPath))
    throw new TypeError('a PostgreSQL ENGINE_DB is opened with openEngineStore and passed as deps.store');
  const store = deps.store ?? openSqliteEngineStore(config.dbPath, { signupBonus: config.signupBonusCredits, now });
  const { ledger, tokens, integrationTokens } = store;
  const metrics = createServiceMetrics({ service: 'business-engine' });
  const serviceTokenKeys = new ServiceTokenKeys(config.serviceTokenKey);
  const sign = deps.decorateSigner ? deps.decorateSigner(serviceTokenKeys.sign) : serviceTokenKeys.sign;
  const vendor = new TokenVendor({ store, sign, logger });
  let circuitState = (): TttUpstream['circuitState'] => 'closed';
  const upstream = new TttUpstream({
    baseUrl: config.tttBaseUrl,
    keys: config.tttKeys,
    now,
    policy: { ...DEFAULT_UPSTREAM_POLICY, ...deps.upstreamPolicy, timeoutMs: config.upstreamTimeoutMs },
    logger,
    observe: registerUpstreamMetrics(metrics.registry, {
      upstream: 'tttranscribe',
      circuitState: () => circuitState(),
    }),
  });
  circuitState = () => upstream.circuitState;
  registerCreditMetrics(metrics.registry, () => store.newMovements());
  // A submission still waiting for TTTranscribe is not stuck: recover only well past the upstream timeout.
  const stuckSubmittingMs = Math.max(STUCK_SUBMITTING_MS, 4 * config.upstreamTimeoutMs);
  const sweeper = new Sweeper({ tokens, upstream, now, logger, stuckSubmittingMs });
  const authDeps: AuthDeps = {
    verifyUserJwt: createUserJwtVerifier(config.userJwt, { now, maxLifetimeSec: config.userJwtMaxLifetimeSec }),
    serviceTokenKeys,
    tokens,
    adminToken: new ConfiguredToken(config.adminToken),
    tttKeys: config.tttKeys,
    logger,
    now,
    integrationTokens: new IntegrationTokenVerifier(integrationTokens, now),
    ...(config.metricsToken === undefined ? {} : { metricsToken: new ConfiguredToken(config.metricsToken) }),
  };
  // User-facing operations take the user JWT or an integration token acting for that user, with its scopes.
  const userOrIntegration = (scopes: readonly string[]) => requireUser(authDeps, scopes, { integrationTokens: true });
  // Every operation with a credential is limited per caller, after its credential check; see engine-rate-limits.ts.
  const limits = engineRateLimits(config.rateLimits, deps.rateLimiterStore);
  const limit = (policy: string) => limits.limit(policy, engineCallerKey);
  const integrationCheck = cachedIntegrationCheck(
    (requestId) =>
      checkTttIntegration({
        keys: config.tttKeys,
        upstream,
        now,
        requestId,
        serviceTokens: { sign, jwks: () => serviceTokenKeys.jwks() },
      }),
    { now },
  );
  const docsDir = resolve(config.docsDir);
  const instanceId = config.instanceId ?? defaultInstanceId();

  const app = createServiceApp({
    spec,
    logger,
    validateResponses: deps.validateResponses ?? false,
    bodyLimitBytes: 16 * 1024,
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    before: [instanceIdHeader(instanceId), ...(deps.before ?? [])],
    onResponse: [metrics.countResponse],
    onError: metrics.countAuthFailures,
    onClientAbort: metrics.countClientAbort,
    extraRoutes: (router) => {
      if (existsSync(docsDir)) router.use('/docs', express.static(docsDir, { index: 'index.html', fallthrough: true }));
    },
    operations: {
      getHealth: {
        handler: getHealth({
          build: deps.build ?? readBuildInfo(),
          startedAt: now(),
          now,
          instanceId,
          keyIds: healthKeyIds(config),
        }),
      },
      // Unauthenticated and it calls TTTranscribe: one shared report every few seconds, and a limit per client address.
      getTttIntegrationHealth: { auth: limit('health'), handler: getTttIntegrationHealth({ check: integrationCheck }) },
      getJwks: { handler: getJwks({ serviceTokenKeys }) },
      getCreditBalance: {
        auth: [userOrIntegration(CREDIT_READ_SCOPES), limit('read')],
        handler: getCreditBalance({ ledger }),
      },
      listCreditLedger: {
        auth: [userOrIntegration(CREDIT_READ_SCOPES), limit('read')],
        handler: listCreditLedger({ ledger }),
      },
      vendToken: { auth: [userOrIntegration([TRANSCRIBE_SCOPE]), limit('vend')], handler: vendToken({ vendor }) },
      submitTranscription: {
        auth: [requireServiceToken(authDeps), limit('transcribe')],
        handler: submitTranscription({
          tokens,
          upstream,
          logger,
          // A pending submission is settled by the first sweep after its stuck window.
          pendingSettlesWithinSec: Math.ceil(stuckSubmittingMs / 1000) + config.sweepIntervalSec,
          ...(deps.faultPoint ? { faultPoint: deps.faultPoint } : {}),
        }),
      },
      getTranscriptionStatus: {
        auth: [requireJobReader(authDeps), limit('read')],
        handler: getTranscriptionStatus({ tokens, upstream, logger }),
      },
      grantCredits: { auth: [requireAdmin(authDeps), limit('admin')], handler: grantCredits({ ledger }) },
      getAdminConfig: { auth: [requireAdmin(authDeps), limit('admin')], handler: getAdminConfig({ config }) },
      // Managing integration tokens takes a user JWT only: a leaked integration token cannot mint more.
      createIntegrationToken: {
        auth: [requireUser(authDeps, []), limit('integrations')],
        handler: createIntegrationToken({ store: integrationTokens, now, logger }),
      },
      listIntegrationTokens: {
        auth: [requireUser(authDeps, []), limit('integrations')],
        handler: listIntegrationTokens({ store: integrationTokens }),
      },
      revokeIntegrationToken: {
        auth: [requireUser(authDeps, []), limit('integrations')],
        handler: revokeIntegrationToken({ store: integrationTokens, logger }),
      },
      getMetrics: {
        auth: [requireMetricsReader(authDeps), limit('admin')],
        handler: getMetrics({ registry: metrics.registry }),
      },
    },
  });

  let closed = false;
  return {
    app,
    sweeper,
    store,
    upstream,
    metrics,
    close: async () => {
      if (closed) return;
      closed = true;
      await sweeper.stop();
      await upstream.close();
      if (ownsStore) await store.close();
    },
  };
}
