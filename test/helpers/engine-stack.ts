import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet } from 'jose';
import { parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { generateSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { createApp as createTttApp, type TttService } from '../../server/tttranscribe/app.js';
import { openJobDatabase, type JobDatabase } from '../../server/tttranscribe/jobs/database.js';
import type { JobProcessor } from '../../server/tttranscribe/jobs/job-processor.js';
import {
  ENGINE_T0_MS,
  engineMemoryLogger,
  reserveServer,
  startEngineTestApp,
  type EngineTestApp,
} from './engine-app.js';
import { fakeTranscriber, succeedingProcessor } from './ttt-processors.js';

/** A real TTTranscribe (its createApp) listening on 127.0.0.1:0. */
export interface RealTtt {
  readonly baseUrl: string;
  readonly service: TttService;
  readonly db: JobDatabase;
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Both services in-process, sharing one frozen clock, talking over HTTP only. */
export interface EngineStack {
  readonly be: EngineTestApp;
  readonly ttt: RealTtt;
  readonly clock: { ms: number };
  close(): Promise<void>;
}

export interface EngineStackOptions {
  /** TTT_SHARED_SECRET of the engine (default a fresh one). */
  readonly engineSecret?: string;
  /** The secret TTTranscribe accepts (default the engine's: a correctly configured pair). */
  readonly tttSecret?: string;
  /** The test-double processor in TTTranscribe (default: succeeds with a fixed transcript). */
  readonly processor?: JobProcessor;
  readonly engineEnv?: Record<string, string>;
}

/**
 * Starts the whole chain in-process: the engine's server is reserved first so TTTranscribe can fetch the
 * engine's JWKS over HTTP (/.well-known/jwks.json), then TTTranscribe is built with ITS createApp (response
 * validation on, test-double processor, worker driven by `ttt.service.worker.drain()`), then the engine is built
 * pointing at it. Services meet only over HTTP.
 *
 * @example
 * const stack = await startEngineStack();
 * // balance -> vend -> submit -> drain -> poll through stack.be.client
 */
export async function startEngineStack(options: EngineStackOptions = {}): Promise<EngineStack> {
  const clock = { ms: ENGINE_T0_MS };
  const now = () => clock.ms;
  const engineSecret = options.engineSecret ?? generateSharedSecret();
  const tttSecret = options.tttSecret ?? engineSecret;
  const reserved = await reserveServer();
  const db = openJobDatabase(':memory:');
  const { logger, logs } = engineMemoryLogger();
  const service = createTttApp(
    {
      engineAuthKeys: [parseSharedSecret('TTT_SHARED_SECRET', tttSecret)],
      allowedMediaHosts: [],
      workerConcurrency: 2,
      jobTimeoutSec: 300,
      validateResponses: true,
    },
    {
      db,
      processor: options.processor ?? succeedingProcessor(),
      serviceTokenKeys: createRemoteJWKSet(new URL(`${reserved.baseUrl}/.well-known/jwks.json`)),
      logger: logger.child({ service: 'tttranscribe' }),
      now,
      transcriber: fakeTranscriber,
    },
  );
  const tttServer = await new Promise<Server>((resolve, reject) => {
    const s = service.app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const tttBaseUrl = `http://127.0.0.1:${(tttServer.address() as AddressInfo).port}`;
  const ttt: RealTtt = {
    baseUrl: tttBaseUrl,
    service,
    db,
    logs,
    close: async () => {
      tttServer.closeAllConnections();
      await new Promise<void>((resolve) => tttServer.close(() => resolve()));
      if (db.open) db.close();
    },
  };
  const be = await startEngineTestApp({
    clock,
    server: reserved.server,
    env: { TTT_SHARED_SECRET: engineSecret, TTT_BASE_URL: tttBaseUrl, ...options.engineEnv },
  });
  return {
    be,
    ttt,
    clock,
    close: async () => {
      await be.close();
      await ttt.close();
    },
  };
}
