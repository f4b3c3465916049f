import { errorCatalog, type ErrorCode } from '../../../generated/errors.js';

/** Options of an {@link ApiError}: code-specific details, extra response headers and the original error. */
export interface ApiErrorOptions {
  /** Flat, code-specific members for the problem body. Never a secret or token. */
  details?: Record<string, unknown>;
  /** Extra response headers such as `Retry-After` or `Allow`. */
  headers?: Record<string, string>;
  /** The third-party error this one translates (jose, SQLite, fetch...). Logged, never sent. */
  cause?: unknown;
}

/**
 * The one error class of every Pluct service: it carries a catalog code, and the error middleware renders it as
 * application/problem+json with the code's status, title, responsibility, retryable flag and guidance.
 *
 * @example
 * throw new ApiError('insufficient_credits', 'A service token costs 1 credit; the balance is 0.', {
 *   details: { balance: 0, required: 1 },
 * });
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail?: string, options: ApiErrorOptions = {}) {
    const meta = errorCatalog[code];
    super(detail ?? meta.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = meta.status;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }

  /** The problem's `detail`: what happened in this instance. */
  get detail(): string {
    return this.message;
  }
}

/** Whether a value is an {@link ApiError} (also across module copies). */
export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError || (value instanceof Error && value.name === 'ApiError' && 'code' in value);
}
