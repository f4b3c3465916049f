import { ApiError, isApiError } from '../../shared/errors/api-error.js';

/**
 * Runs a database operation and translates a SQLite failure into `internal_error` (keeping the SQLite error as
 * `cause`, so the log names the constraint), while letting catalog errors thrown inside pass through.
 *
 * @example
 * const balance = withSqlite('read the balance', () => getBalance.get(userId));
 */
export function withSqlite<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw sqliteFailure(what, error);
  }
}

/**
 * What {@link withSqlite} throws for `error`: a catalog error as it is, anything else as `internal_error` with the
 * error as `cause`. For failures caught without a `withSqlite` around them (a vend's transaction).
 *
 * @example
 * reject(sqliteFailure('charge the credit', error));
 */
export function sqliteFailure(what: string, error: unknown): ApiError {
  if (isApiError(error)) return error;
  const code = (error as { code?: unknown }).code;
  const detail = code === 'SQLITE_BUSY' ? `The database was busy and could not ${what}; retry.` : `Could not ${what}.`;
  return new ApiError('internal_error', detail, { cause: error });
}
