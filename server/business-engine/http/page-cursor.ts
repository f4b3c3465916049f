import { ApiError } from '../../shared/errors/api-error.js';

/** The page size of a list operation when the request names none (the spec's `limit` default). */
export const DEFAULT_PAGE_LIMIT = 50;

/**
 * A list request's page: its `limit` (the spec's default when absent) and its cursor read back with `pattern`, or
 * `invalid_request` naming /query/cursor for a cursor this service did not issue. The request validator has checked
 * both against the spec already (strings; a repeated parameter is refused).
 *
 * @example
 * const { limit, cursor } = pageRequest(req.query, /^ledger:(\d{1,15})$/);
 * const beforeId = cursor && Number(cursor[1]);
 */
export function pageRequest(query: unknown, pattern: RegExp): { limit: number; cursor: RegExpExecArray | undefined } {
  const { limit, cursor } = query as { limit?: string; cursor?: string };
  if (cursor === undefined)
    return { limit: limit === undefined ? DEFAULT_PAGE_LIMIT : Number(limit), cursor: undefined };
  const match = pattern.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) {
    throw new ApiError('invalid_request', '/query/cursor: is not a cursor this service issued.', {
      details: { errors: [{ pointer: '/query/cursor', message: 'must be the nextCursor of a previous page' }] },
    });
  }
  return { limit: limit === undefined ? DEFAULT_PAGE_LIMIT : Number(limit), cursor: match };
}

/**
 * One page of `rows` fetched with `limit + 1`: the first `limit`, and the opaque cursor of the next page (the last
 * item's position through `position`), or null when there is none.
 *
 * @example
 * const { items, nextCursor } = page(await ledger.page(userId, limit + 1, beforeId), limit, (e) => `ledger:${e.id}`);
 */
export function page<T>(
  rows: readonly T[],
  limit: number,
  position: (last: T) => string,
): {
  items: T[];
  nextCursor: string | null;
} {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? Buffer.from(position(last)).toString('base64url') : null,
  };
}
