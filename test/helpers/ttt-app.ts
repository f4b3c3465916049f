import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Middleware } from 'openapi-fetch';
import type { Logger } from 'pino';
import { createTttranscribeClient, type TttranscribeClient } from '../../generated/tttranscribe/client.js';
import { parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import {
  bearerTokenFromAuthorization,
  ENGINE_AUTH_HEADER,
  signEngineAuth,
  type EngineAuthKey,
} from '../../server/protocol/engine-auth.js';
import { createLogger } from '../../server/shared/logging/logger.js';
import { createApp, type TttAppConfig, type TttService } from '../../server/tttranscribe/app.js';
import { openJobDatabase, type JobDatabase } from '../../server/tttranscribe/jobs/database.js';
import type { JobProcessor } from '../../server/tttranscribe/jobs/job-processor.js';
import type { TttStorage } from '../../server/tttranscribe/storage.js';
import type { TranscriberProbe } from '../../server/tttranscribe/transcriber-status.js';
import { createServiceTokenIssuer, type ServiceTokenIssuer } from './service-tokens.js';
import { fakeTranscriber, succeedingProcessor } from './ttt-processors.js';
import { answerClientErrors } from '../../server/shared/http/client-errors.js';

/** TEST-ONLY shared secrets (the vectors' keys: bytes 0x00..0x1f and 0x20..0x3f). Never use them anywhere else. */
export const TEST_SECRET = 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
export const TEST_SECRET_NEXT = 'tttsk_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8';
export const TEST_KEY: EngineAuthKey = parseSharedSecret('TTT_SHARED_SECRET', TEST_SECRET);
export const TEST_KEY_NEXT: EngineAuthKey = parseSharedSecret('TTT_SHARED_SECRET_NEXT', TEST_SECRET_NEXT);

/** The frozen start time of every test app: 2026-01-01T00:00:00Z. */
export const T0_MS = Date.UTC(2026, 0, 1);

/** How a test client signs X-Engine-Auth: like the engine, unless told to get something wrong. */
export interface SignOptions {
  /** Keys to sign with (default the server's); `null` sends no header at all. */
  readonly keys?: readonly EngineAuthKey[] | null;
  /** The signer's clock (default the server's frozen clock). */
  readonly now?: () => number;
  /** A fixed nonce, to replay. */
  readonly nonce?: string;
  /** Rewrites the signed header before it is sent. */
  readonly mutate?: (header: string) => string;
  /** Sign this target instead of the real one. */
  readonly target?: string;
}

export interface TttTestApp {
  readonly baseUrl: string;
  readonly service: TttService;
  /** The SQLite job database (undefined when the app runs on a given `storage`, e.g. PostgreSQL). */
  readonly db: JobDatabase;
  /** The frozen clock shared by server, signer and token issuer; move it with `clock.ms += ...`. */
  readonly clock: { ms: number };
  readonly issuer: ServiceTokenIssuer;
  /** Log lines the app wrote (parsed JSON). */
  readonly logs: Array<Record<string, unknown>>;
  /** A typed client signing every request exactly as the engine does. */
  readonly client: TttranscribeClient;
  /** A typed client with another signing behaviour. */
  clientWith(sign: SignOptions): TttranscribeClient;
  /** Stops listening; closes the database (a given `storage` too) unless `keepDb`. */
  close(options?: { keepDb?: boolean }): Promise<void>;
}

export interface TttTestAppOptions {
  readonly processor?: JobProcessor;
  /** Keys the server accepts (default TEST_KEY). */
  readonly keys?: readonly EngineAuthKey[];
  /** A database file to (re)open; default `:memory:`. */
  readonly dbPath?: string;
  readonly db?: JobDatabase;
  /** Storage to run on instead of SQLite (openTttStorage on a PostgreSQL test database). */
  readonly storage?: TttStorage;
  readonly issuer?: ServiceTokenIssuer;
  readonly transcriber?: TranscriberProbe;
  readonly timeoutSignal?: (ms: number) => AbortSignal;
  readonly config?: Partial<TttAppConfig>;
  readonly startMs?: number;
}

/**
 * Signs openapi-fetch requests with X-Engine-Auth v1 over the exact bytes and target sent, as the engine does.
 *
 * @example
 * client.use(engineAuthSigner({ keys: [TEST_KEY], now: () => clock.ms }));
 */
export function engineAuthSigner(
  options: SignOptions & { keys: readonly EngineAuthKey[]; now: () => number },
): Middleware {
  return {
    async onRequest({ request }) {
      const body = request.body ? new Uint8Array(await request.clone().arrayBuffer()) : undefined;
      const url = new URL(request.url);
      const { header } = signEngineAuth({
        keys: options.keys,
        method: request.method,
        target: options.target ?? url.pathname + url.search,
        body,
        bearerToken: bearerTokenFromAuthorization(request.headers.get('authorization') ?? undefined),
        now: options.now,
        ...(options.nonce ? { nonce: options.nonce } : {}),
      });
      request.headers.set(ENGINE_AUTH_HEADER, options.mutate ? options.mutate(header) : header);
      return request;
    },
  };
}

/** A logger that keeps its lines in memory. */
export function memoryLogger(): { logger: Logger; logs: Array<Record<string, unknown>> } {
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service: 'tttranscribe-test', level: 'debug', destination }), logs };
}

/**
 * Builds TTTranscribe with createApp (response validation ON), a frozen clock, a test-double processor and a
 * local service-token JWKS, listening on 127.0.0.1:0. The worker is not started: call `service.worker.drain()`.
 *
 * @example
 * const ttt = await startTttTestApp();
 * const token = await ttt.issuer.mint();
 * const { data, error } = await ttt.client.POST('/transcribe', { body: { url }, headers: { Authorization: `Bearer ${token}` } });
 */
export async function startTttTestApp(options: TttTestAppOptions = {}): Promise<TttTestApp> {
  const clock = { ms: options.startMs ?? T0_MS };
  const now = () => clock.ms;
  const keys = options.keys ?? [TEST_KEY];
  const issuer = options.issuer ?? (await createServiceTokenIssuer({ now }));
  const db = options.storage
    ? (options.storage.sqlite as JobDatabase)
    : (options.db ?? openJobDatabase(options.dbPath ?? ':memory:'));
  const { logger, logs } = memoryLogger();
  const service = createApp(
    {
      engineAuthKeys: keys,
      allowedMediaHosts: [],
      workerConcurrency: 2,
      jobTimeoutSec: 300,
      validateResponses: true,
      // Generous limits, as the engine's test app has; a test of the limits sets its own.
      rateLimits: { enginePerMin: 1_000_000, metricsPerMin: 1_000_000 },
      ...options.config,
    },
    {
      ...(options.storage ? { storage: options.storage } : { db }),
      processor: options.processor ?? succeedingProcessor(),
      serviceTokenKeys: issuer.getKey,
      logger,
      now,
      transcriber: options.transcriber ?? fakeTranscriber,
      ...(options.timeoutSignal ? { timeoutSignal: options.timeoutSignal } : {}),
    },
  );
  const server = await new Promise<Server>((resolve, reject) => {
    const s = service.app.listen(0, '127.0.0.1');
    // As startTttranscribe does: requests Node refuses before routing get catalog problem+json.
    answerClientErrors(s, logger);
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientWith = (sign: SignOptions): TttranscribeClient => {
    const client = createTttranscribeClient({ baseUrl });
    if (sign.keys !== null) client.use(engineAuthSigner({ ...sign, keys: sign.keys ?? keys, now: sign.now ?? now }));
    return client;
  };
  return {
    baseUrl,
    service,
    db,
    clock,
    issuer,
    logs,
    client: clientWith({}),
    clientWith,
    async close({ keepDb = false } = {}) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (keepDb) return;
      if (options.storage) await options.storage.close();
      else if (db.open) db.close();
    },
  };
}
