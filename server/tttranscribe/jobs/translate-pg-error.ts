import { ApiError } from '../../shared/errors/api-error.js';

const RETRY_AFTER_SEC = 2;
/** SQLSTATE classes and codes meaning "the database is not there right now", not "this request is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|40001|40P01|55P03)/;
const UNAVAILABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/**
 * Whether a `pg` error means the database is unreachable or briefly unable to answer (connection refused or lost,
 * server shutting down, too many connections, serialization conflict, pool timeout).
 *
 * @example
 * if (isPgUnavailable(error)) retryLater();
 */
export function isPgUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NETWORK.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
    message,
  );
}

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
    return new ApiError(
      'service_unavailable',
      `The job database is unreachable and could not ${action}; retry shortly.`,
      {
        details: { retryAfterSec: RETRY_AFTER_SEC, reason: 'database_unavailable' },
        headers: { 'Retry-After': String(RETRY_AFTER_SEC) },
        cause: error,
      },
    );
  }
  return new ApiError('internal_error', `The job database could not ${action}.`, { cause: error });
}
