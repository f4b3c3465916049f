import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';

// Issue 18 (11): GET /v1/integrations/tokens answered every token ever made; now cursor-paginated.
describe('GET /v1/integrations/tokens pagination', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp();
  });
  afterAll(async () => {
    await be.close();
  });

  const headers = async (sub: string) => be.bearer(await be.userJwt({ sub }));
  const list = async (sub: string, query: { limit?: number; cursor?: string } = {}) =>
    be.client.GET('/v1/integrations/tokens', { params: { query }, headers: await headers(sub) });
  const makeTokens = async (sub: string, count: number, sameInstant = false): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      if (!sameInstant) be.clock.ms += 1000;
      const { data } = await be.client.POST('/v1/integrations/tokens', {
        body: { description: `token ${i}`, scopes: ['credits:read'] },
        headers: await headers(sub),
      });
      ids.push(data!.id);
    }
    return ids;
  };

  it('walks every token once, newest first, with limit and an opaque nextCursor that is null on the last page', async () => {
    const ids = await makeTokens('page-user-1', 5);
    const seen: string[] = [];
    let cursor: string | undefined;
    const pages: number[] = [];
    do {
      const { data, error } = await list('page-user-1', { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(error).toBeUndefined();
      pages.push(data!.tokens.length);
      seen.push(...data!.tokens.map((t) => t.id));
      cursor = data!.nextCursor ?? undefined;
      if (cursor) expect(cursor).not.toContain('itk_');
    } while (cursor);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });

  it('pages tokens created in the same millisecond without losing or repeating one', async () => {
    const ids = await makeTokens('page-user-2', 4, true);
    const first = await list('page-user-2', { limit: 3 });
    const second = await list('page-user-2', { limit: 3, cursor: first.data!.nextCursor! });
    const seen = [...first.data!.tokens, ...second.data!.tokens].map((t) => t.id);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(4);
    expect(second.data!.nextCursor).toBeNull();
  });

  it('defaults to 50 a page and refuses a limit over 100 or a cursor it did not issue', async () => {
    await makeTokens('page-user-3', 51, true);
    const { data } = await list('page-user-3');
    expect(data!.tokens).toHaveLength(50);
    expect(data!.nextCursor).not.toBeNull();
    const tooMany = await list('page-user-3', { limit: 101 });
    expect(tooMany.response.status).toBe(400);
    expect(tooMany.error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [expect.objectContaining({ pointer: '/query/limit' })] },
    });
    const forged = await list('page-user-3', { cursor: Buffer.from('ledger:12').toString('base64url') });
    expect(forged.response.status).toBe(400);
    expect(forged.error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [{ pointer: '/query/cursor' }] },
    });
  });

  it("never pages into another user's tokens", async () => {
    await makeTokens('page-user-4', 2);
    const other = await list('page-user-5');
    expect(other.data).toEqual({ ok: true, tokens: [], nextCursor: null });
  });
});
