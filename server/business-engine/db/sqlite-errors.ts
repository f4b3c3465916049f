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
    if (isApiError(error)) throw error;
    const code = (error as { code?: unknown }).code;
    const detail = code === 'SQLITE_BUSY' ? `The database was busy and could not ${what}; retry.` : `Could not ${what}.`;
    throw new ApiError('internal_error', detail, { cause: error });
  }
}
