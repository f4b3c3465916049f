import { ApiError } from '../../shared/errors/api-error.js';

const BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT']);
const RETRY_AFTER_SEC = 1;

/**
 * Translates a SQLite error at the store boundary into a catalog error, keeping the original as `cause`:
 * a locked database is a short `service_unavailable` (retry in a second); anything else is `internal_error`.
 * The SQLite message (which may quote SQL) is logged through `cause`, never sent.
 *
 * @example
 * try { insert.run(row); } catch (error) { throw translateSqliteError(error, 'store the job'); }
 */
export function translateSqliteError(error: unknown, action: string): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && BUSY_CODES.has(code)) {
    return new ApiError('service_unavailable', `The job database is busy and could not ${action}; retry shortly.`, {
      details: { retryAfterSec: RETRY_AFTER_SEC, reason: 'database_busy' },
      headers: { 'Retry-After': String(RETRY_AFTER_SEC) },
      cause: error,
    });
  }
  return new ApiError('internal_error', `The job database could not ${action}.`, { cause: error });
}
