/**
 * Both real services in-process on 127.0.0.1 port 0, wired as in production (the engine signs with its
 * TTT_SHARED_SECRET and vends ES256 service tokens; TTTranscribe verifies both), with response validation ON,
 * TTTranscribe's worker running a test-double processor, and real clocks by default (the CLI runs in another
 * process with the real clock). TEST-ONLY secrets, fresh for every stack.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { createApp as createEngineApp, type BusinessEngine } from '../../../server/business-engine/app.js';
import { loadEngineConfig } from '../../../server/business-engine/config.js';
import { generateSharedSecret, parseSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import { createLogger } from '../../../server/shared/logging/logger.js';
import { createApp as createTttApp, type TttService } from '../../../server/tttranscribe/app.js';
import { openJobDatabase } from '../../../server/tttranscribe/jobs/database.js';
import type { JobProcessor } from '../../../server/tttranscribe/jobs/job-processor.js';
import { createServiceTokenIssuer, type ServiceTokenIssuer } from '../../helpers/service-tokens.js';
import { fakeTranscriber, succeedingProcessor } from '../../helpers/ttt-processors.js';

/** TEST-ONLY user-JWT secret and admin token of every real test stack. */
export const STACK_USER_JWT_SECRET = 'test-only-user-jwt-secret-for-the-sdk-and-cli-tests';
export const STACK_ADMIN_TOKEN = 'test-only-admin-token-sdk-cli-000000000000';

export interface RealStackOptions {
  /** TTTranscribe's TTT_SHARED_SECRET (default: the engine's, i.e. a matching pair). */
  readonly tttSecret?: string;
  readonly engineSecret?: string;
  readonly processor?: JobProcessor;
  /** TTTranscribe's clock (default Date.now): shift it to simulate a skewed host. */
  readonly tttNow?: () => number;
  readonly signupBonus?: number;
}

export interface RealStack {
  readonly engineUrl: string;
  readonly tttUrl: string;
  readonly engineSecret: string;
  readonly tttSecret: string;
  readonly engineKeyId: string;
  readonly tttKeyId: string;
  readonly issuer: ServiceTokenIssuer;
  readonly engine: BusinessEngine;
  readonly ttt: TttService;
  /** A user JWT the engine accepts (HS256 with {@link STACK_USER_JWT_SECRET}); `expiresInSec` may be negative. */
  userJwt(sub: string, options?: { expiresInSec?: number; scope?: string }): Promise<string>;
  close(): Promise<void>;
}

async function listen(app: (req: never, res: never) => void): Promise<{ server: Server; url: string }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = (app as unknown as { listen(port: number, host: string): Server }).listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Starts TTTranscribe, then the engine pointed at it.
 *
 * @example
 * const stack = await startRealStack();
 * const pluct = createPluctClient({ baseUrl: stack.engineUrl, getUserToken: () => stack.userJwt('alice') });
 * await stack.close();
 */
export async function startRealStack(options: RealStackOptions = {}): Promise<RealStack> {
  const engineSecret = options.engineSecret ?? generateSharedSecret();
  const tttSecret = options.tttSecret ?? engineSecret;
  const logger = createLogger({ service: 'sdk-test', level: 'silent' });
  const issuer = await createServiceTokenIssuer();
  const db = openJobDatabase(':memory:');
  const ttt = createTttApp(
    {
      engineAuthKeys: [parseSharedSecret('TTT_SHARED_SECRET', tttSecret)],
      allowedMediaHosts: [],
      workerConcurrency: 2,
      jobTimeoutSec: 60,
      validateResponses: true,
    },
    {
      db,
      processor: options.processor ?? succeedingProcessor(),
      serviceTokenKeys: issuer.getKey,
      logger,
      transcriber: fakeTranscriber,
      ...(options.tttNow ? { now: options.tttNow } : {}),
    },
  );
  const tttListening = await listen(ttt.app as never);
  ttt.worker.start();
  const privateJwk = { ...(await exportJWK(issuer.privateKey)), kid: issuer.kid, alg: 'ES256' };
  const config = loadEngineConfig({
    ENGINE_DB: ':memory:',
    TTT_BASE_URL: tttListening.url,
    TTT_SHARED_SECRET: engineSecret,
    SERVICE_TOKEN_PRIVATE_KEY: JSON.stringify(privateJwk),
    ADMIN_TOKEN: STACK_ADMIN_TOKEN,
    USER_JWT_SECRET: STACK_USER_JWT_SECRET,
    SIGNUP_BONUS_CREDITS: String(options.signupBonus ?? 3),
    RATE_LIMIT_VEND_PER_MIN: '100000',
    RATE_LIMIT_TRANSCRIBE_PER_MIN: '100000',
    RATE_LIMIT_READ_PER_MIN: '100000',
    RATE_LIMIT_INTEGRATIONS_PER_MIN: '100000',
    RATE_LIMIT_ADMIN_PER_MIN: '100000',
    RATE_LIMIT_HEALTH_PER_MIN: '100000',
    UPSTREAM_TIMEOUT_MS: '3000',
    DOCS_DIR: '/nonexistent-docs-dir',
    LOG_LEVEL: 'silent',
  });
  const engine = createEngineApp(config, { logger, validateResponses: true });
  const engineListening = await listen(engine.app as never);
  const secretKey = new TextEncoder().encode(STACK_USER_JWT_SECRET);
  return {
    engineUrl: engineListening.url,
    tttUrl: tttListening.url,
    engineSecret,
    tttSecret,
    engineKeyId: parseSharedSecret('TTT_SHARED_SECRET', engineSecret).keyId,
    tttKeyId: parseSharedSecret('TTT_SHARED_SECRET', tttSecret).keyId,
    issuer,
    engine,
    ttt,
    userJwt(sub, o = {}) {
      const nowSec = Math.floor(Date.now() / 1000);
      const lifetime = 900;
      const exp = nowSec + (o.expiresInSec ?? lifetime);
      return new SignJWT({ scope: o.scope ?? 'ttt:transcribe credits:read' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setJti(randomUUID())
        .setSubject(sub)
        .setIssuedAt(exp - lifetime)
        .setExpirationTime(exp)
        .sign(secretKey);
    },
    async close() {
      await close(engineListening.server);
      await engine.close();
      await close(tttListening.server);
      await ttt.worker.stop({ graceMs: 1000 });
      db.close();
    },
  };
}
