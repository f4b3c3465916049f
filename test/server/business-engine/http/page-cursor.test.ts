import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_LIMIT, page, pageRequest } from '../../../../server/business-engine/http/page-cursor.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';

const spec = JSON.parse(
  readFileSync(new URL('../../../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
) as {
  paths: Record<string, Record<string, { parameters?: Array<{ name: string; schema?: { default?: unknown } }> }>>;
};

describe('list pages', () => {
  it('default to the limit the spec states for every list operation', () => {
    const limits = Object.values(spec.paths)
      .flatMap((item) => Object.values(item))
      .flatMap((op) => (Array.isArray(op.parameters) ? op.parameters : []))
      .filter((p) => p.name === 'limit');
    expect(limits.length).toBeGreaterThanOrEqual(2);
    for (const limit of limits) expect(limit.schema?.default).toBe(DEFAULT_PAGE_LIMIT);
    expect(pageRequest({}, /^x:(\d+)$/)).toEqual({ limit: DEFAULT_PAGE_LIMIT, cursor: undefined });
  });

  it('round-trips a cursor it issued, and refuses any other with invalid_request on /query/cursor', () => {
    const { items, nextCursor } = page([1, 2, 3], 2, (n) => `x:${n}`);
    expect(items).toEqual([1, 2]);
    const { limit, cursor } = pageRequest({ limit: '2', cursor: nextCursor }, /^x:(\d+)$/);
    expect([limit, cursor?.[1]]).toEqual([2, '2']);
    expect(page([1, 2], 2, (n) => `x:${n}`).nextCursor).toBeNull();
    let refusal: unknown;
    try {
      pageRequest({ cursor: Buffer.from('y:1').toString('base64url') }, /^x:(\d+)$/);
    } catch (error) {
      refusal = error;
    }
    expect(isApiError(refusal) && refusal.code).toBe('invalid_request');
    expect(refusal).toMatchObject({ details: { errors: [{ pointer: '/query/cursor' }] } });
  });
});
