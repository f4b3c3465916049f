import { ApiError, isApiError } from '../../shared/errors/api-error.js';
import { databaseUnavailable, isPgUnavailable } from '../../shared/db/postgres-unavailable.js';
import { SigningFailed } from './engine-store.js';

/** How long a client is told to wait when the database cannot be reached. */
export const DATABASE_RETRY_AFTER_SEC = 5;

/**
 * Whether a pg error means the database is out of reach (refused, dropped, shutting down, out of connections, the
 * pool's connect timeout), as opposed to a statement that failed or a conflict the transaction may retry. One
 * classifier for both services (server/shared/db/postgres-unavailable.ts), less the retryable conflicts.
 *
 * @example
 * if (isConnectionFailure(error)) client.release(true);
 */
export function isConnectionFailure(error: unknown): boolean {
  return isPgUnavailable(error) && !isRetryableConflict(error);
}

/** Serialization failure or deadlock: the transaction may be retried as a whole. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * What a PostgreSQL failure becomes at the boundary: a catalog error (or a signer's failure) as it is; the
 * database out of reach, too slow or still in conflict after retries as `503 service_unavailable` (retryable,
 * Retry-After); anything else as `internal_error`.
 * The pg error is kept as `cause`, so the log names the constraint or the connection error; the body never does.
 *
 * @example
 * try { ... } catch (error) { throw postgresFailure('charge the credit', error); }
 */
export function postgresFailure(what: string, error: unknown): Error {
  if (isApiError(error) || error instanceof SigningFailed) return error;
  // Out of reach, too slow (a statement timeout), or still conflicting after the retries: all pass, so 503.
  if (isPgUnavailable(error)) {
    return databaseUnavailable(
      `The database could not be reached to ${what}. Retry shortly.`,
      DATABASE_RETRY_AFTER_SEC,
      error,
    );
  }
  return new ApiError('internal_error', `Could not ${what}.`, { cause: error });
}
