import { Pool } from 'undici';
import { createTttranscribeClient, type TttranscribeClient } from '../../../generated/tttranscribe/client.js';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import { PlainRequest } from './plain-exchange.js';
import { createSignedFetch } from './signed-fetch.js';

export type { TttranscribeClient };

/** A TTTranscribe client whose every request is signed, and the pool to close on shutdown. */
export interface SignedTttClient {
  readonly client: TttranscribeClient;
  close(): Promise<void>;
}

/**
 * The ONLY way the engine gets a TTTranscribe client: the generated openapi-fetch client over a fetch that signs
 * each request with X-Engine-Auth and sends it through a keep-alive undici pool. There is no unsigned variant.
 *
 * @example
 * const { client, close } = createSignedTttClient({ baseUrl: config.tttBaseUrl, keys: config.tttKeys, timeoutMs: 5000 });
 * const { data, error } = await client.GET('/status/{jobId}', { params: { path: { jobId } } });
 */
export function createSignedTttClient(options: {
  baseUrl: string;
  keys: readonly EngineAuthKey[];
  timeoutMs: number;
  now?: () => number;
  connections?: number;
}): SignedTttClient {
  if (options.keys.length === 0) throw new TypeError('a TTTranscribe client needs at least one X-Engine-Auth key');
  const origin = new URL(options.baseUrl).origin;
  const pool = new Pool(origin, {
    connections: options.connections ?? 32,
    keepAliveTimeout: 10_000,
    connect: { timeout: options.timeoutMs },
  });
  const fetch = createSignedFetch({
    keys: options.keys,
    pool,
    origin,
    now: options.now ?? Date.now,
    timeoutMs: options.timeoutMs,
  });
  const client = createTttranscribeClient({
    baseUrl: options.baseUrl,
    fetch,
    Request: PlainRequest as unknown as typeof Request,
  });
  return {
    client,
    close: async () => {
      await pool.close().catch(() => pool.destroy());
    },
  };
}
