import { randomUUID } from 'node:crypto';
import { createBusinessEngineClient } from '../../generated/business-engine/client.js';
import { errorFromThrown, localError, problemFromBody } from './errors.js';
import { REQUEST_ID_HEADER, newRequestId, retryRequestId } from './request-id.js';
import { createTokenManager, type GetUserToken } from './token-manager.js';
import type { Balance, CallOptions, LedgerPage, PluctResult, TranscribeAccepted } from './results.js';
import {
  runTranscription,
  type TranscribeOptions,
  type TranscribeOutcome,
  type TranscriptionCalls,
} from './transcribe.js';

export type {
  Balance,
  CallOptions,
  LedgerPage,
  PluctResult,
  TranscribeAccepted,
  TranscribeRequest,
  TranscriptionStatus,
  VendTokenResponse,
} from './results.js';

export interface PluctClientOptions {
  /** The Business Engine, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Supplies the user JWT; see {@link GetUserToken}. */
  getUserToken: GetUserToken;
  /** A fetch to use instead of the global one (tests, proxies, custom agents). */
  fetch?: (input: Request) => Promise<Response>;
  /** Extra headers on every request (e.g. a User-Agent). */
  headers?: Record<string, string>;
  /** Clock in milliseconds (default `Date.now`). */
  now?: () => number;
}

/** The Pluct SDK: typed calls to the Business Engine with user-token handling and the whole transcription flow. */
export interface PluctClient extends TranscriptionCalls {
  /** `GET /v1/credits/balance` with the user JWT. */
  balance(options?: CallOptions): Promise<PluctResult<Balance>>;
  /** `GET /v1/credits/ledger` with the user JWT; pass `nextCursor` as `cursor` for the next page. */
  ledger(query?: { limit?: number; cursor?: string }, options?: CallOptions): Promise<PluctResult<LedgerPage>>;
  /** Vend, submit and poll until the job ends; resolves with the transcript or a typed error. */
  transcribe(url: string, options?: TranscribeOptions): Promise<PluctResult<TranscribeOutcome>>;
}

type RawResult = { data?: unknown; error?: unknown; response: Response };
type Send = (headers: Record<string, string>, signal: AbortSignal | undefined) => Promise<RawResult>;

/**
 * Creates the Pluct SDK client on top of the generated openapi-fetch client.
 *
 * @example
 * const pluct = createPluctClient({ baseUrl: 'http://127.0.0.1:8787', getUserToken: () => auth.currentJwt() });
 * const { data, error } = await pluct.transcribe('https://media.example.com/clip.mp4', {
 *   onProgress: (p) => console.log(p.phase, p.progress),
 * });
 * if (error) console.error(error.code, error.detail, error.guidance, error.requestId);
 * else console.log(data.transcript);
 */
export function createPluctClient(options: PluctClientOptions): PluctClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const http = createBusinessEngineClient({
    baseUrl,
    headers: options.headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const tokens = createTokenManager({
    getUserToken: options.getUserToken,
    ...(options.now ? { now: options.now } : {}),
  });

  async function send<T>(
    requestId: string,
    signal: AbortSignal | undefined,
    bearer: string,
    run: Send,
  ): Promise<PluctResult<T>> {
    const headers = { [REQUEST_ID_HEADER]: requestId, Authorization: `Bearer ${bearer}` };
    try {
      const { data, error, response } = await run(headers, signal);
      if (error !== undefined || !response.ok)
        return { error: problemFromBody(error, response, requestId), response, requestId };
      return { data: data as T, response, requestId };
    } catch (thrown) {
      return { error: errorFromThrown(thrown, requestId, baseUrl, signal), response: undefined, requestId };
    }
  }

  // A user-JWT call: one shared refresh and exactly one retry when the server says the token expired.
  async function withUserToken<T>(options: CallOptions | undefined, run: Send): Promise<PluctResult<T>> {
    const requestId = options?.requestId ?? newRequestId();
    const first = await tokens.get(requestId);
    // A shared refresh reports the id of the call that started it: each caller gets its own.
    if (!first.ok) return { error: { ...first.error, requestId }, response: undefined, requestId };
    const result = await send<T>(requestId, options?.signal, first.token, run);
    if (result.error?.code !== 'token_expired') return result;
    const retryId = retryRequestId(requestId, 1);
    const fresh = await tokens.refreshAfterRejection(first.token, retryId);
    if (!fresh.ok) return { error: { ...fresh.error, requestId: retryId }, response: undefined, requestId: retryId };
    if (fresh.token === first.token) return result;
    return send<T>(retryId, options?.signal, fresh.token, run);
  }

  const client: PluctClient = {
    balance: (opts) => withUserToken(opts, (headers, signal) => http.GET('/v1/credits/balance', { headers, signal })),
    ledger: (query, opts) =>
      withUserToken(opts, (headers, signal) =>
        http.GET('/v1/credits/ledger', { params: { query: query ?? {} }, headers, signal }),
      ),
    vendToken: (input, opts) => {
      // Fixed before the first attempt, so a retry after a token refresh replays instead of charging twice.
      const body = { clientRequestId: input?.clientRequestId ?? randomUUID() };
      return withUserToken(opts, (headers, signal) => http.POST('/v1/vend-token', { body, headers, signal }));
    },
    async submit(serviceToken, request, opts) {
      const requestId = opts?.requestId ?? newRequestId();
      const result = await send<TranscribeAccepted>(requestId, opts?.signal, serviceToken, (headers, signal) =>
        http.POST('/ttt/transcribe', { body: request, headers, signal }),
      );
      if (result.error?.code !== 'token_expired') return result;
      const error = localError(
        'service_token_expired',
        requestId,
        result.error.detail,
        'Service tokens live 15 minutes and are never re-vended silently, because vending costs a credit. Submit ' +
          'right after vending; to try again, vend a new token (the expired one is refunded when it was never used).',
        { problem: result.error },
      );
      return { error, response: result.response, requestId };
    },
    status(jobId, opts) {
      const run: Send = (headers, signal) =>
        http.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers, signal });
      if (opts?.serviceToken) return send(opts.requestId ?? newRequestId(), opts.signal, opts.serviceToken, run);
      return withUserToken(opts, run);
    },
    transcribe: (url, opts) => runTranscription(client, url, { now: options.now, ...opts }),
  };
  return client;
}
