import { ApiError } from '../errors/api-error.js';

/** SQLSTATE classes and codes meaning "the database is not there right now", not "this request is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4]|57014|40001|40P01|55P03)/;
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
 * server shutting down, too many connections, serialization conflict, pool, query or statement timeout): such a failure is
 * the operator's, answered `503 service_unavailable` with Retry-After, never a 500.
 *
 * @example
 * if (isPgUnavailable(error)) throw new ApiError('service_unavailable', 'retry shortly', { cause: error });
 */
export function isPgUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NETWORK.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
    message,
  );
}

/**
 * The one answer to a database that is out of reach (or too slow, or still in conflict after retries):
 * `503 service_unavailable`, retryable, `details.reason: 'database_unavailable'`, `Retry-After: retryAfterSec`, the
 * driver's error kept as `cause` (logged, never sent).
 *
 * @example
 * if (isPgUnavailable(error)) throw databaseUnavailable('The job database is unreachable; retry shortly.', 2, error);
 */
export function databaseUnavailable(detail: string, retryAfterSec: number, cause: unknown): ApiError {
  return new ApiError('service_unavailable', detail, {
    details: { retryAfterSec, reason: 'database_unavailable' },
    headers: { 'Retry-After': String(retryAfterSec) },
    cause,
  });
}
