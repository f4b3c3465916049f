import {
  errorCatalog,
  isErrorCode,
  type AnyProblem,
  type ErrorCode,
  type JobFailureCode,
} from '../../generated/errors.js';

/** Codes of failures that are not HTTP problems: they happen on the client side or span several requests. */
export type LocalErrorCode =
  | 'network_error'
  | 'aborted'
  | 'token_refresh_failed'
  | 'unexpected_response'
  | 'service_token_expired'
  | 'job_failed'
  | 'poll_timeout';

/** The members every SDK error shares with a problem body, so one printer handles both. */
interface LocalErrorBase<C extends LocalErrorCode> {
  readonly ok: false;
  readonly code: C;
  readonly title: string;
  /** What happened in this instance. */
  readonly detail: string;
  /** What to do about it. */
  readonly guidance: string;
  readonly retryable: boolean;
  /** The X-Request-ID of the request that failed (the last one, for multi-request failures). */
  readonly requestId: string;
}

/** The engine could not be reached (DNS, refused connection, reset, TLS). */
export interface NetworkError extends LocalErrorBase<'network_error'> {
  readonly cause: unknown;
}
/** The caller's AbortSignal fired. */
export interface AbortedError extends LocalErrorBase<'aborted'> {
  readonly reason: unknown;
}
/** `getUserToken` threw (or returned nothing) and no still-valid token was cached. */
export interface TokenRefreshFailedError extends LocalErrorBase<'token_refresh_failed'> {
  readonly cause: unknown;
}
/** The server answered without a catalog problem body (a proxy page, a wrong base URL). */
export interface UnexpectedResponseError extends LocalErrorBase<'unexpected_response'> {
  readonly status: number;
}
/**
 * The service token expired (or was revoked) before the job was submitted. The SDK never vends a replacement
 * on its own, because vending spends a credit; `problem` is the engine's answer.
 */
export interface ServiceTokenExpiredError extends LocalErrorBase<'service_token_expired'> {
  readonly problem: AnyProblem;
}
/** The job ran and failed; `jobFailure` is its catalog job failure code. */
export interface JobFailedError extends LocalErrorBase<'job_failed'> {
  readonly jobId: string;
  readonly jobFailure: JobFailureCode;
  readonly responsibility: 'caller' | 'gateway' | 'upstream' | 'operator' | undefined;
  readonly creditRefunded: boolean;
}
/** The job did not finish within the polling budget; it may still complete: poll `status(jobId)` later. */
export interface PollTimeoutError extends LocalErrorBase<'poll_timeout'> {
  readonly jobId: string;
  readonly waitedMs: number;
  readonly lastStatus: string | undefined;
}

/** Any SDK-local error, discriminated by `code`. */
export type LocalError =
  | NetworkError
  | AbortedError
  | TokenRefreshFailedError
  | UnexpectedResponseError
  | ServiceTokenExpiredError
  | JobFailedError
  | PollTimeoutError;

/**
 * Every error an SDK call can resolve with: a catalog problem (typed from generated/errors.ts) or a local error.
 * Both are discriminated by `code`, and both carry `detail`, `guidance`, `retryable` and `requestId`.
 *
 * @example
 * const { data, error } = await pluct.balance();
 * if (error?.code === 'insufficient_scope') console.log(error.details['requiredScope']);
 * else if (error?.code === 'network_error') console.log('offline:', error.detail);
 */
export type PluctError = AnyProblem | LocalError;

/** Every code a {@link PluctError} can carry. */
export type PluctErrorCode = ErrorCode | LocalErrorCode;

/**
 * Whether an error is a problem+json answer from a service (rather than a local error).
 *
 * @example
 * if (error && isProblem(error)) console.log(error.status, error.responsibility);
 */
export function isProblem(error: PluctError): error is AnyProblem {
  return isErrorCode(error.code);
}

const LOCAL_META: Record<LocalErrorCode, { title: string; retryable: boolean }> = {
  network_error: { title: 'Network error', retryable: true },
  aborted: { title: 'Aborted', retryable: false },
  token_refresh_failed: { title: 'User token unavailable', retryable: true },
  unexpected_response: { title: 'Unexpected response', retryable: false },
  service_token_expired: { title: 'Service token expired', retryable: false },
  job_failed: { title: 'Job failed', retryable: false },
  poll_timeout: { title: 'Job still running', retryable: true },
};

type Extra<E extends LocalError> = Omit<E, keyof LocalErrorBase<LocalErrorCode>> & { retryable?: boolean };

/**
 * Builds a local error with its fixed title and default `retryable`.
 *
 * @example
 * localError('network_error', 'req_1', 'fetch failed', 'Check the URL.', { cause: err });
 */
export function localError<C extends LocalErrorCode>(
  code: C,
  requestId: string,
  detail: string,
  guidance: string,
  extra: Extra<Extract<LocalError, { code: C }>>,
): Extract<LocalError, { code: C }> {
  const meta = LOCAL_META[code];
  return {
    ok: false,
    code,
    title: meta.title,
    detail,
    guidance,
    requestId,
    retryable: meta.retryable,
    ...extra,
  } as Extract<LocalError, { code: C }>;
}

/**
 * Turns whatever a non-2xx response carried into a {@link PluctError}: a catalog problem is kept as it is (its
 * `requestId` filled from the header or the sent id when the body lacks one); anything else is `unexpected_response`.
 *
 * @example
 * if (!response.ok) return { error: problemFromBody(error, response, requestId), response, requestId };
 */
export function problemFromBody(body: unknown, response: Response, sentRequestId: string): PluctError {
  if (typeof body === 'object' && body !== null && isErrorCode((body as { code?: unknown }).code)) {
    // Typed as what a body from an older server may be (without the catalog metadata), then completed below.
    const problem = body as Partial<AnyProblem> & Pick<AnyProblem, 'code'>;
    const meta = errorCatalog[problem.code];
    return {
      ...problem,
      requestId: problem.requestId || response.headers.get('x-request-id') || sentRequestId,
      // A body from an older server may lack the catalog metadata; fill it so printers can rely on it.
      title: problem.title ?? meta.title,
      guidance: problem.guidance ?? meta.guidance,
      retryable: problem.retryable ?? meta.retryable,
      details: problem.details ?? {},
    } as AnyProblem;
  }
  const contentType = response.headers.get('content-type') ?? 'no content type';
  return localError(
    'unexpected_response',
    response.headers.get('x-request-id') ?? sentRequestId,
    `The server answered ${response.status} with ${contentType}, not a problem+json body from the error catalog.`,
    'Check that the base URL points at a Pluct Business Engine (not a proxy or another service).',
    { status: response.status, retryable: response.status >= 500 },
  );
}

/**
 * Turns an exception thrown by fetch into `aborted` or `network_error`. Never used for HTTP answers.
 *
 * @example
 * catch (thrown) { return { error: errorFromThrown(thrown, requestId, baseUrl, signal), response: undefined, requestId }; }
 */
export function errorFromThrown(
  thrown: unknown,
  requestId: string,
  baseUrl: string,
  signal: AbortSignal | undefined,
): LocalError {
  const name = thrown instanceof Error ? thrown.name : '';
  if (signal?.aborted || name === 'AbortError') {
    const reason: unknown = signal?.reason ?? thrown;
    const why = reason instanceof Error && reason.name === 'TimeoutError' ? 'timed out' : 'was aborted by the caller';
    return localError('aborted', requestId, `The request ${why}.`, 'Nothing to fix: the caller cancelled it.', {
      reason,
    });
  }
  if (thrown instanceof SyntaxError) {
    return localError(
      'unexpected_response',
      requestId,
      `The server's answer is not valid JSON (${thrown.message}).`,
      'Check that the base URL points at a Pluct Business Engine.',
      { status: 0 },
    );
  }
  const cause = thrown instanceof Error && thrown.cause instanceof Error ? thrown.cause : thrown;
  const message = cause instanceof Error ? cause.message : String(cause);
  return localError(
    'network_error',
    requestId,
    `Could not reach ${baseUrl}: ${message}.`,
    'Check the engine URL (the CLI: `--engine`, `PLUCT_ENGINE_URL` or `ENGINE_PORT`) and your connection; locally, start the stack with `npm start`.',
    { cause: thrown },
  );
}
