import { Pool } from 'undici';
import {
  bearerTokenFromAuthorization,
  ENGINE_AUTH_HEADER,
  signEngineAuth,
  type EngineAuthKey,
} from '../../protocol/engine-auth.js';
import { PlainRequest, PlainResponse } from './plain-exchange.js';

/** A fetch-compatible function (what openapi-fetch calls), over {@link PlainRequest}s. */
export type FetchLike = (request: Request) => Promise<Response>;

export interface SignedFetchOptions {
  /** Every X-Engine-Auth key, current first: during a rotation the header carries a signature per key. */
  readonly keys: readonly EngineAuthKey[];
  /** The undici pool for TTTranscribe's origin (keep-alive connections). */
  readonly pool: Pool;
  /** TTTranscribe's origin, e.g. `http://127.0.0.1:8788`; a request to any other origin is refused. */
  readonly origin: string;
  readonly now: () => number;
  /** Backstop for a stuck connection (the circuit breaker's timeout answers first). */
  readonly timeoutMs: number;
}

/**
 * A fetch that signs every request with X-Engine-Auth v1 over the exact method, target (pathname + search) and
 * body bytes it sends, plus the bearer token it carries, then sends it through the undici pool. It is called
 * once per attempt, so a retry is signed afresh with a new nonce.
 *
 * @example
 * const fetch = createSignedFetch({ keys, pool, origin, now: Date.now, timeoutMs: 5000 });
 * const client = createTttranscribeClient({ baseUrl: origin, fetch });
 */
export function createSignedFetch(options: SignedFetchOptions): FetchLike {
  return async (input) => {
    // openapi-fetch is built with `Request: PlainRequest` (ttt-client.ts): plain values, no body stream.
    if (!(input instanceof PlainRequest))
      throw new TypeError('the signed fetch takes PlainRequests (create the client with Request: PlainRequest)');
    const request = input;
    const url = new URL(request.url);
    if (url.origin !== options.origin) throw new TypeError(`refusing to send an upstream request to ${url.origin}`);
    const body = request.bodyBytes();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const target = url.pathname + url.search;
    const signed = signEngineAuth({
      keys: options.keys,
      method: request.method,
      target,
      body,
      bearerToken: bearerTokenFromAuthorization(headers['authorization']),
      now: options.now,
    });
    headers[ENGINE_AUTH_HEADER.toLowerCase()] = signed.header;
    const answer = await options.pool.request({
      method: request.method,
      path: target,
      headers,
      body: body ?? null,
      signal: request.signal,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    return new PlainResponse(answer.statusCode, answer.headers, bytes) as unknown as Response;
  };
}
