import { ApiError, isApiError } from '../../shared/errors/api-error.js';
import { SigningFailed } from './engine-store.js';

/** How long a client is told to wait when the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SEC = 5;

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

/**
 * Whether a pg error means the database is out of reach (refused, dropped, shutting down, out of connections),
 * as opposed to a statement that failed.
 *
 * @example
 * if (isConnectionFailure(error)) throw databaseUnavailable('charge the credit', error);
 */
export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

/** Serialization failure or deadlock: the transaction may be retried as a whole. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * What a PostgreSQL failure becomes at the boundary: a catalog error (or a signer's failure) as it is; the
 * database out of reach as `503 service_unavailable` (retryable, Retry-After); anything else as `internal_error`.
 * The pg error is kept as `cause`, so the log names the constraint or the connection error; the body never does.
 *
 * @example
 * try { ... } catch (error) { throw postgresFailure('charge the credit', error); }
 */
export function postgresFailure(what: string, error: unknown): Error {
  if (isApiError(error) || error instanceof SigningFailed) return error;
  if (isConnectionFailure(error)) {
    return new ApiError(
      'service_unavailable',
      `The database could not be reached to ${what}; nothing was written. Retry shortly.`,
      {
        details: { retryAfterSec: DATABASE_RETRY_AFTER_SEC, reason: 'database_unavailable' },
        headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SEC) },
        cause: error,
      },
    );
  }
  return new ApiError('internal_error', `Could not ${what}.`, { cause: error });
}

/**
 * A PostgreSQL URL with its password replaced by `***`, for logs and error messages.
 *
 * @example
 * redactDatabaseUrl('postgres://app:s3cret@db:5432/engine'); // 'postgres://app:***@db:5432/engine'
 */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}
