import { databaseUnavailable, isPgUnavailable } from '../../shared/db/postgres-unavailable.js';
import { ApiError } from '../../shared/errors/api-error.js';

export { isPgUnavailable };

const RETRY_AFTER_SEC = 2;
/**
 * Translates a PostgreSQL error at the store boundary into a catalog error, keeping the original as `cause`: a
 * database that cannot be reached is `service_unavailable` (retryable, Retry-After); anything else is
 * `internal_error`. The driver's message (which may quote SQL or a host) is logged through `cause`, never sent.
 *
 * @example
 * try { await pool.query(sql, values); } catch (error) { throw translatePgError(error, 'store the job'); }
 */
export function translatePgError(error: unknown, action: string): ApiError {
  if (error instanceof ApiError) return error;
  if (isPgUnavailable(error)) {
    return databaseUnavailable(
      `The job database is unreachable and could not ${action}; retry shortly.`,
      RETRY_AFTER_SEC,
      error,
    );
  }
  return new ApiError('internal_error', `The job database could not ${action}.`, { cause: error });
}
