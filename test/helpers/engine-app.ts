import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair } from 'jose';
import { answerClientErrors } from '../../server/shared/http/client-errors.js';
import type { Logger } from 'pino';
import { createBusinessEngineClient, type BusinessEngineClient } from '../../generated/business-engine/client.js';
import { generateSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { createLogger } from '../../server/shared/logging/logger.js';
import { createApp, type BusinessEngine, type EngineDeps } from '../../server/business-engine/app.js';
import { loadEngineConfig, type EngineConfig } from '../../server/business-engine/config.js';
import type { EngineDatabase } from '../../server/business-engine/db/engine-database.js';
import { SqliteEngineStore } from '../../server/business-engine/store/sqlite-engine-store.js';
import { mintUserJwt, TEST_USER_JWT_SECRET, type UserJwtOptions } from './user-tokens.js';

/** The frozen start time of every engine test app: 2026-01-01T00:00:00Z (the same as TTTranscribe's helper). */
export const ENGINE_T0_MS = Date.UTC(2026, 0, 1);
/** TEST-ONLY admin token (40 characters). */
export const TEST_ADMIN_TOKEN = 'test-only-admin-token-000000000000000000';

/**
 * A TEST-ONLY ES256 private key as the single-line JWK JSON SERVICE_TOKEN_PRIVATE_KEY takes.
 *
 * @example
 * const env = { SERVICE_TOKEN_PRIVATE_KEY: await testServiceTokenKey() };
 */
export async function testServiceTokenKey(kid?: string): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return JSON.stringify(kid ? { ...jwk, kid } : jwk);
}

/**
 * A complete, valid engine environment with TEST-ONLY secrets (fresh shared secret and signing key each call),
 * an in-memory database and generous rate limits; override any variable.
 *
 * @example
 * const config = loadEngineConfig(await testEngineEnv({ TTT_BASE_URL: fake.baseUrl }));
 */
export async function testEngineEnv(
  overrides: Record<string, string | undefined> = {},
): Promise<Record<string, string | undefined>> {
  return {
    ENGINE_HOST: '127.0.0.1',
    ENGINE_PORT: '0',
    ENGINE_DB: ':memory:',
    USER_JWT_SECRET: TEST_USER_JWT_SECRET,
    TTT_BASE_URL: 'http://127.0.0.1:9',
    TTT_SHARED_SECRET: generateSharedSecret(),
    SERVICE_TOKEN_PRIVATE_KEY: await testServiceTokenKey(),
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SIGNUP_BONUS_CREDITS: '3',
    RATE_LIMIT_VEND_PER_MIN: '1000',
    RATE_LIMIT_TRANSCRIBE_PER_MIN: '1000',
    RATE_LIMIT_READ_PER_MIN: '1000',
    RATE_LIMIT_INTEGRATIONS_PER_MIN: '1000',
    RATE_LIMIT_ADMIN_PER_MIN: '1000',
    RATE_LIMIT_HEALTH_PER_MIN: '1000',
    UPSTREAM_TIMEOUT_MS: '2000',
    DOCS_DIR: 'test/fixtures/no-docs-here',
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

/**
 * A logger that keeps its lines in memory (parsed JSON), to assert what was logged and what never was.
 *
 * @example
 * const { logger, logs } = engineMemoryLogger();
 */
export function engineMemoryLogger(): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service: 'business-engine-test', level: 'debug', destination }), logs };
}

export interface EngineTestApp {
  readonly baseUrl: string;
  readonly engine: BusinessEngine;
  readonly config: EngineConfig;
  /** The frozen clock of the engine (and of tokens minted with {@link userJwt}); move it with `clock.ms += …`. */
  readonly clock: { ms: number };
  readonly logs: Array<Record<string, unknown>>;
  /** The generated Business Engine client. */
  readonly client: BusinessEngineClient;
  /** `{ Authorization: 'Bearer …' }` for a token. */
  bearer(token: string): { Authorization: string };
  /** A user JWT minted at the engine's clock (default sub mobile-user-1, scopes ttt:transcribe credits:read). */
  userJwt(options?: UserJwtOptions): Promise<string>;
  close(): Promise<void>;
}

export interface EngineTestAppOptions {
  /** Environment overrides (see {@link testEngineEnv}). */
  readonly env?: Record<string, string | undefined>;
  readonly deps?: Partial<EngineDeps>;
  /** A shared clock (e2e: the same object as TTTranscribe's). */
  readonly clock?: { ms: number };
  /** An already listening server to attach the app to (e2e: its URL was needed before the engine existed). */
  readonly server?: Server;
}

/**
 * Builds the Business Engine with createApp (response validation ON, frozen clock, in-memory SQLite, fast
 * circuit-breaker settings) and listens on 127.0.0.1:0.
 *
 * @example
 * const be = await startEngineTestApp({ env: { TTT_BASE_URL: fake.baseUrl } });
 * const { data, error } = await be.client.GET('/v1/credits/balance', { headers: be.bearer(await be.userJwt()) });
 */
export async function startEngineTestApp(options: EngineTestAppOptions = {}): Promise<EngineTestApp> {
  const clock = options.clock ?? { ms: ENGINE_T0_MS };
  const now = () => clock.ms;
  const config = loadEngineConfig(await testEngineEnv(options.env));
  const { logger, logs } = engineMemoryLogger();
  const engine = createApp(config, {
    logger,
    now,
    validateResponses: true,
    upstreamPolicy: {
      retryBaseDelayMs: 5,
      resetTimeoutMs: 30_000,
      volumeThreshold: 3,
      ...options.deps?.upstreamPolicy,
    },
    ...options.deps,
  });
  const server = options.server ?? createServer();
  server.on('request', engine.app);
  // As startBusinessEngine does: requests Node refuses before routing get catalog problem+json.
  answerClientErrors(server, logger);
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    engine,
    config,
    clock,
    logs,
    client: createBusinessEngineClient({ baseUrl }),
    bearer: (token) => ({ Authorization: `Bearer ${token}` }),
    userJwt: (jwtOptions = {}) => mintUserJwt({ nowMs: clock.ms, ...jwtOptions }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
    },
  };
}

/**
 * A server already listening on 127.0.0.1:0 with no handler yet, so its URL can be given to TTTranscribe (as
 * the JWKS URL) before the engine is built.
 *
 * @example
 * const server = await reserveServer();
 */
export async function reserveServer(): Promise<{ server: Server; baseUrl: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * The SQLite handle of an engine test app on the default (SQLite) store, for assertions on rows.
 *
 * @example
 * sqliteDb(be).prepare('SELECT count(*) AS n FROM ledger').get();
 */
export function sqliteDb(be: EngineTestApp): EngineDatabase {
  if (!(be.engine.store instanceof SqliteEngineStore))
    throw new TypeError('this engine test app does not run on SQLite');
  return be.engine.store.db;
}
