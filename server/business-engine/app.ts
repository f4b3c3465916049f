import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { createServiceApp } from '../shared/http/create-service-app.js';
import type { OpenApiDocument } from '../shared/http/operation-matcher.js';
import { registerCreditMetrics, registerVendCommitMetrics } from '../shared/observability/domain-metrics.js';
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
import { CreditLedger } from './credits/credit-ledger.js';
import { LedgerTail } from './credits/ledger-tail.js';
import { openEngineDatabase, type EngineDatabase } from './db/engine-database.js';
import { createIntegrationToken } from './handlers/create-integration-token.js';
import { getAdminConfig } from './handlers/get-admin-config.js';
import { getCreditBalance } from './handlers/get-credit-balance.js';
import { getHealth } from './handlers/get-health.js';
import { getJwks } from './handlers/get-jwks.js';
import { getMetrics } from './handlers/get-metrics.js';
import { getTranscriptionStatus } from './handlers/get-transcription-status.js';
import { getTttIntegrationHealth } from './handlers/get-ttt-integration-health.js';
import { grantCredits } from './handlers/grant-credits.js';
import { listCreditLedger } from './handlers/list-credit-ledger.js';
import { listIntegrationTokens } from './handlers/list-integration-tokens.js';
import { revokeIntegrationToken } from './handlers/revoke-integration-token.js';
import { submitTranscription } from './handlers/submit-transcription.js';
import { vendToken } from './handlers/vend-token.js';
import { perUserRateLimit } from './http/per-user-rate-limit.js';
import { IntegrationTokenStore } from './integrations/integration-token-store.js';
import { IntegrationTokenVerifier } from './integrations/integration-token-verifier.js';
import { Sweeper } from './jobs/sweeper.js';
import { IdempotencyStore } from './tokens/idempotency-store.js';
import { ServiceTokenKeys, type SignServiceToken } from './tokens/service-token-keys.js';
import { TokenStore } from './tokens/token-store.js';
import { TokenVendor } from './tokens/token-vendor.js';
import { DEFAULT_UPSTREAM_POLICY, TttUpstream, type UpstreamPolicy } from './upstream/ttt-upstream.js';

const spec = JSON.parse(readFileSync(new URL('../../generated/business-engine/openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;

/** Scopes that may read credits: `credits:read`, or `ttt:transcribe` (an app that may spend may see its balance). */
export const CREDIT_READ_SCOPES = ['credits:read', 'ttt:transcribe'] as const;
export const TRANSCRIBE_SCOPE = 'ttt:transcribe';

/** What the engine is built from besides its configuration; everything but the logger has a default. */
export interface EngineDeps {
  readonly logger: Logger;
  /** An open database (the caller closes it); by default the engine opens config.dbPath and closes it in close(). */
  readonly db?: EngineDatabase;
  /** Clock in ms for tokens, the ledger, the sweep and X-Engine-Auth timestamps (tests freeze it). */
  readonly now?: () => number;
  /** Validate every response against the spec (tests). */
  readonly validateResponses?: boolean;
  /** Circuit breaker and retry knobs (the timeout comes from UPSTREAM_TIMEOUT_MS). */
  readonly upstreamPolicy?: Partial<Omit<UpstreamPolicy, 'timeoutMs'>>;
  /** Wraps the service-token signer (tests: a slow or failing signer). */
  readonly decorateSigner?: (sign: SignServiceToken) => SignServiceToken;
  readonly build?: BuildInfo;
  /** Middleware run first on every request, after the engine's own metrics (e.g. the shutdown drain). */
  readonly before?: RequestHandler[];
}

/** A built Business Engine: the Express app (not listening) and what main.ts and tests drive around it. */
export interface BusinessEngine {
  readonly app: Express;
  /** The credit sweep: `runOnce()` in tests, `start(ms)` in main.ts. */
  readonly sweeper: Sweeper;
  readonly db: EngineDatabase;
  /** The signed TTTranscribe gateway (its `sent` counter and `circuitState` are observable). */
  readonly upstream: TttUpstream;
  readonly ledger: CreditLedger;
  readonly tokens: TokenStore;
  readonly integrationTokens: IntegrationTokenStore;
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
  const ownsDb = deps.db === undefined;
  const db = deps.db ?? openEngineDatabase(config.dbPath);
  const ledger = new CreditLedger(db, { signupBonus: config.signupBonusCredits, now });
  const tokens = new TokenStore(db, ledger, now);
  const idempotency = new IdempotencyStore(db, now);
  const integrationTokens = new IntegrationTokenStore(db, now);
  const metrics = createServiceMetrics({ service: 'business-engine' });
  const serviceTokenKeys = new ServiceTokenKeys(config.serviceTokenKey);
  const sign = deps.decorateSigner ? deps.decorateSigner(serviceTokenKeys.sign) : serviceTokenKeys.sign;
  const vendor = new TokenVendor(db, { ledger, tokens, idempotency, sign, now, logger, onGroupCommit: registerVendCommitMetrics(metrics.registry) });
  let circuitState = (): TttUpstream['circuitState'] => 'closed';
  const upstream = new TttUpstream({
    baseUrl: config.tttBaseUrl,
    keys: config.tttKeys,
    now,
    policy: { ...DEFAULT_UPSTREAM_POLICY, ...deps.upstreamPolicy, timeoutMs: config.upstreamTimeoutMs },
    logger,
    observe: registerUpstreamMetrics(metrics.registry, { upstream: 'tttranscribe', circuitState: () => circuitState() }),
  });
  circuitState = () => upstream.circuitState;
  const ledgerTail = new LedgerTail(db);
  registerCreditMetrics(metrics.registry, () => ledgerTail.read());
  const sweeper = new Sweeper({ tokens, vendor, upstream, now, logger });
  const authDeps: AuthDeps = {
    verifyUserJwt: createUserJwtVerifier(config.userJwt, { now }),
    serviceTokenKeys, tokens, adminToken: new ConfiguredToken(config.adminToken), tttKeys: config.tttKeys, logger, now,
    integrationTokens: new IntegrationTokenVerifier(integrationTokens, now),
    ...(config.metricsToken === undefined ? {} : { metricsToken: new ConfiguredToken(config.metricsToken) }),
  };
  // User-facing operations take the user JWT or an integration token acting for that user, with its scopes.
  const userOrIntegration = (scopes: readonly string[]) => requireUser(authDeps, scopes, { integrationTokens: true });
  const docsDir = resolve(config.docsDir);

  const app = createServiceApp({
    spec,
    logger,
    validateResponses: deps.validateResponses ?? false,
    bodyLimitBytes: 16 * 1024,
    before: deps.before ?? [],
    onResponse: [metrics.countResponse],
    onError: metrics.countAuthFailures,
    extraRoutes: (router) => {
      if (existsSync(docsDir)) router.use('/docs', express.static(docsDir, { index: 'index.html', fallthrough: true }));
    },
    operations: {
      getHealth: { handler: getHealth({ build: deps.build ?? readBuildInfo(), startedAt: now(), now }) },
      getTttIntegrationHealth: { handler: getTttIntegrationHealth({ keys: config.tttKeys, upstream, now }) },
      getJwks: { handler: getJwks({ serviceTokenKeys }) },
      getCreditBalance: { auth: userOrIntegration(CREDIT_READ_SCOPES), handler: getCreditBalance({ ledger }) },
      listCreditLedger: { auth: userOrIntegration(CREDIT_READ_SCOPES), handler: listCreditLedger({ ledger }) },
      vendToken: {
        auth: [userOrIntegration([TRANSCRIBE_SCOPE]), perUserRateLimit('vend', config.rateLimits.vendPerMin)],
        handler: vendToken({ vendor }),
      },
      submitTranscription: {
        auth: [requireServiceToken(authDeps), perUserRateLimit('transcribe', config.rateLimits.transcribePerMin)],
        handler: submitTranscription({ tokens, upstream, logger }),
      },
      getTranscriptionStatus: { auth: requireJobReader(authDeps), handler: getTranscriptionStatus({ tokens, upstream, logger }) },
      grantCredits: { auth: requireAdmin(authDeps), handler: grantCredits({ ledger }) },
      getAdminConfig: { auth: requireAdmin(authDeps), handler: getAdminConfig({ config }) },
      // Managing integration tokens takes a user JWT only: a leaked integration token cannot mint more.
      createIntegrationToken: { auth: requireUser(authDeps, []), handler: createIntegrationToken({ store: integrationTokens, now, logger }) },
      listIntegrationTokens: { auth: requireUser(authDeps, []), handler: listIntegrationTokens({ store: integrationTokens }) },
      revokeIntegrationToken: { auth: requireUser(authDeps, []), handler: revokeIntegrationToken({ store: integrationTokens, logger }) },
      getMetrics: { auth: requireMetricsReader(authDeps), handler: getMetrics({ registry: metrics.registry }) },
    },
  });

  let closed = false;
  return {
    app, sweeper, db, upstream, ledger, tokens, integrationTokens, metrics,
    close: async () => {
      if (closed) return;
      closed = true;
      await sweeper.stop();
      await upstream.close();
      if (ownsDb) db.close();
    },
  };
}
