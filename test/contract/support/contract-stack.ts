/**
 * Both real services wired the way production wires them, for contract tests: TTTranscribe (test-double
 * processor, frozen clock, response validation on) and the Business Engine (in-memory SQLite, the same frozen
 * clock, response validation on) whose TTT_BASE_URL points at TTTranscribe, optionally through a
 * `prism proxy --errors` in front of each service. TEST-ONLY secrets throughout.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK } from 'jose';
import { createApp as createEngineApp, type BusinessEngine } from '../../../server/business-engine/app.js';
import { loadEngineConfig, type EngineConfig } from '../../../server/business-engine/config.js';
import { createServiceTokenIssuer, type ServiceTokenIssuer } from '../../helpers/service-tokens.js';
import { memoryLogger, startTttTestApp, T0_MS, TEST_SECRET, type TttTestApp } from '../../helpers/ttt-app.js';
import { mintUserJwt, TEST_USER_JWT_SECRET } from '../../helpers/user-tokens.js';
import { freeLoopbackPort, startPrismProxy, type PrismProxy } from './prism-proxy.js';

/** TEST-ONLY admin token (at least 32 characters). */
export const TEST_ADMIN_TOKEN = 'test-only-admin-token-0123456789abcdef';
/** TEST-ONLY ENGINE_METRICS_TOKEN (at least 32 characters, not the admin token): opens GET /metrics only. */
export const TEST_ENGINE_METRICS_TOKEN = 'test-only-engine-metrics-token-0123456789';
/** The user JWT issuer and audience the test engine requires, so a token for another audience is refused. */
export const USER_JWT_ISSUER = 'pluct-test-idp';
export const USER_JWT_AUDIENCE = 'business-engine';

export interface ContractStack {
  ttt: TttTestApp;
  engine: BusinessEngine;
  config: EngineConfig;
  /** Where tests talk to the engine: its Prism proxy when `viaPrism`, else the engine itself. */
  engineUrl: string;
  /** The engine itself, bypassing any proxy. */
  engineDirectUrl: string;
  /** Where the engine reaches TTTranscribe: its Prism proxy when `viaPrism`, else TTTranscribe itself. */
  tttUrl: string;
  /** The service-token key pair: the engine signs with it, TTTranscribe trusts its JWKS. */
  issuer: ServiceTokenIssuer;
  clock: { ms: number };
  engineLogs: Array<Record<string, unknown>>;
  proxies: PrismProxy[];
  /** A user JWT the test engine accepts (scope `ttt:transcribe credits:read`), on the frozen clock. */
  userJwt(options?: { sub?: string; aud?: string; iat?: number; exp?: number; scope?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface TestEngine {
  engine: BusinessEngine;
  config: EngineConfig;
  url: string;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Builds the Business Engine with createApp (validated config, in-memory SQLite, response validation on,
 * ENGINE_METRICS_TOKEN set as for a scraped deployment) and listens on 127.0.0.1:0. Its service-token key is
 * `issuer`'s, so TTTranscribe (or a test) trusts its tokens.
 *
 * @example
 * const engine = await startTestEngine({ tttBaseUrl: mock.url, issuer, now: () => clock.ms });
 */
export async function startTestEngine(options: {
  tttBaseUrl: string;
  issuer: ServiceTokenIssuer;
  now: () => number;
}): Promise<TestEngine> {
  const privateJwk = { ...(await exportJWK(options.issuer.privateKey)), kid: options.issuer.kid, alg: 'ES256' };
  const config = loadEngineConfig({
    ENGINE_DB: ':memory:',
    TTT_BASE_URL: options.tttBaseUrl,
    TTT_SHARED_SECRET: TEST_SECRET,
    SERVICE_TOKEN_PRIVATE_KEY: JSON.stringify(privateJwk),
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ENGINE_METRICS_TOKEN: TEST_ENGINE_METRICS_TOKEN,
    USER_JWT_SECRET: TEST_USER_JWT_SECRET,
    USER_JWT_ISSUER,
    USER_JWT_AUDIENCE,
    RATE_LIMIT_VEND_PER_MIN: '1000000',
    RATE_LIMIT_TRANSCRIBE_PER_MIN: '1000000',
    RATE_LIMIT_READ_PER_MIN: '1000000',
    RATE_LIMIT_INTEGRATIONS_PER_MIN: '1000000',
    RATE_LIMIT_ADMIN_PER_MIN: '1000000',
    RATE_LIMIT_HEALTH_PER_MIN: '1000000',
    DOCS_DIR: '/nonexistent-docs-dir',
    LOG_LEVEL: 'debug',
  });
  const { logger, logs } = memoryLogger();
  const engine = createEngineApp(config, { logger, now: options.now, validateResponses: true });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = engine.app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  return {
    engine,
    config,
    logs,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
    },
  };
}

/** A user JWT the test engine accepts (scope `ttt:transcribe credits:read` unless given). */
export function testUserJwt(
  nowMs: number,
  o: { sub?: string; aud?: string; iat?: number; exp?: number; scope?: string } = {},
): Promise<string> {
  return mintUserJwt({
    sub: o.sub ?? 'contract-user-1',
    scope: o.scope ?? 'ttt:transcribe credits:read',
    iss: USER_JWT_ISSUER,
    aud: o.aud ?? USER_JWT_AUDIENCE,
    nowMs,
    ...(o.iat !== undefined ? { iat: o.iat } : {}),
    ...(o.exp !== undefined ? { exp: o.exp } : {}),
  });
}

/**
 * Starts TTTranscribe, then the engine pointed at it (through Prism proxies when `viaPrism`).
 *
 * @example
 * const stack = await startContractStack({ viaPrism: true });
 * const client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
 * await stack.close();
 */
export async function startContractStack(options: { viaPrism?: boolean } = {}): Promise<ContractStack> {
  // One frozen clock for both services and the token issuer: TTTranscribe's.
  let shared: { ms: number } = { ms: T0_MS };
  const now = () => shared.ms;
  const issuer = await createServiceTokenIssuer({ now });
  const ttt = await startTttTestApp({ issuer, startMs: T0_MS });
  shared = ttt.clock;
  const proxies: PrismProxy[] = [];
  try {
    // The engine only needs TTTranscribe's address at build time, so both proxies start together.
    const ports = options.viaPrism ? [await freeLoopbackPort(), await freeLoopbackPort()] : [];
    const tttUrl = options.viaPrism ? `http://127.0.0.1:${ports[0]}` : ttt.baseUrl;
    const engine = await startTestEngine({ tttBaseUrl: tttUrl, issuer, now });
    if (options.viaPrism) {
      const started = await Promise.allSettled([
        startPrismProxy({ spec: 'generated/tttranscribe/openapi.json', upstream: ttt.baseUrl, port: ports[0]! }),
        startPrismProxy({ spec: 'generated/business-engine/openapi.json', upstream: engine.url, port: ports[1]! }),
      ]);
      for (const result of started) if (result.status === 'fulfilled') proxies.push(result.value);
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) {
        await engine.close();
        throw failed.reason;
      }
    }
    const engineUrl = options.viaPrism ? proxies[1]!.url : engine.url;
    return {
      ttt,
      engine: engine.engine,
      config: engine.config,
      engineUrl,
      engineDirectUrl: engine.url,
      tttUrl,
      issuer,
      clock: ttt.clock,
      engineLogs: engine.logs,
      proxies,
      userJwt: (o = {}) => testUserJwt(now(), o),
      async close() {
        await engine.close();
        await Promise.all(proxies.map((p) => p.stop()));
        await ttt.close();
      },
    };
  } catch (error) {
    await Promise.all(proxies.map((p) => p.stop()));
    await ttt.close();
    throw error;
  }
}
