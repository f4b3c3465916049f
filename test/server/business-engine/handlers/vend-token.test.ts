import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignServiceToken } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { startEngineTestApp, type EngineTestApp, sqliteDb } from '../../../helpers/engine-app.js';

const grant = (be: EngineTestApp, userId: string, amount: number, bucket: 'main' | 'bonus' = 'main') =>
  be.client.POST('/admin/credits/grant', {
    body: { userId, amount, bucket, reason: 'test grant' },
    headers: be.bearer(be.config.adminToken),
  });

describe('POST /v1/vend-token', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp();
  });
  afterAll(async () => {
    await be.close();
  });

  const vend = async (
    body: { clientRequestId: string; userId?: string },
    jwtOptions: Parameters<EngineTestApp['userJwt']>[0] = {},
  ) => be.client.POST('/v1/vend-token', { body, headers: be.bearer(await be.userJwt(jwtOptions)) });

  it('charges 1 credit (bonus first) and issues an ES256 service token whose jti is the ledger tokenId', async () => {
    const { data, error, response } = await vend({ clientRequestId: 'vend-1' }, { sub: 'vend-user-1' });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
    expect(data).toMatchObject({
      ok: true,
      tokenId: expect.stringMatching(/^tok_[0-9A-Z]{26}$/),
      expiresIn: 900,
      balanceAfter: 2,
      expiresAt: new Date(be.clock.ms + 900_000).toISOString(),
      requestId: response.headers.get('x-request-id'),
    });
    const header = decodeProtectedHeader(data!.token);
    expect(header).toEqual({ alg: 'ES256', typ: 'ttt-service+jwt', kid: be.config.serviceTokenKey.kid });
    const claims = decodeJwt(data!.token);
    expect(claims).toEqual({
      iss: 'business-engine',
      aud: 'tttranscribe',
      sub: 'vend-user-1',
      scope: 'ttt:transcribe',
      jti: data!.tokenId,
      iat: be.clock.ms / 1000,
      exp: be.clock.ms / 1000 + 900,
    });
    const ledger = await be.client.GET('/v1/credits/ledger', {
      headers: be.bearer(await be.userJwt({ sub: 'vend-user-1' })),
    });
    expect(ledger.data?.entries[0]).toMatchObject({
      kind: 'charge',
      bucket: 'bonus',
      amount: -1,
      balanceAfter: 2,
      reason: 'vend_token',
      tokenId: data!.tokenId,
      requestId: data!.requestId,
    });
  });

  it('spends bonus before main', async () => {
    await grant(be, 'vend-user-2', 1, 'main');
    const first = await vend({ clientRequestId: 'b1' }, { sub: 'vend-user-2' });
    expect(first.data?.balanceAfter).toBe(3);
    for (const id of ['b2', 'b3']) await vend({ clientRequestId: id }, { sub: 'vend-user-2' });
    const balance = await be.client.GET('/v1/credits/balance', {
      headers: be.bearer(await be.userJwt({ sub: 'vend-user-2' })),
    });
    expect(balance.data).toMatchObject({ balance: 1, main: 1, bonus: 0 });
  });

  it('answers insufficient_credits with the balance and charges nothing', async () => {
    for (const id of ['i1', 'i2', 'i3'])
      expect((await vend({ clientRequestId: id }, { sub: 'vend-user-3' })).response.status).toBe(200);
    const { error, response } = await vend({ clientRequestId: 'i4' }, { sub: 'vend-user-3' });
    expect(response.status).toBe(402);
    expect(error).toMatchObject({ code: 'insufficient_credits', details: { balance: 0, required: 1 } });
    const ledger = await be.client.GET('/v1/credits/ledger', {
      headers: be.bearer(await be.userJwt({ sub: 'vend-user-3' })),
    });
    expect(ledger.data?.entries.filter((e) => e.kind === 'charge')).toHaveLength(3);
  });

  it('answers user_mismatch when the body names another user, and accepts its own id', async () => {
    const { error, response } = await vend({ clientRequestId: 'm1', userId: 'someone-else' }, { sub: 'vend-user-4' });
    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      code: 'user_mismatch',
      details: { tokenSubject: 'vend-user-4', bodyUserId: 'someone-else' },
    });
    expect((await vend({ clientRequestId: 'm2', userId: 'vend-user-4' }, { sub: 'vend-user-4' })).response.status).toBe(
      200,
    );
  });

  it('answers invalid_request naming /body/userId for a control character in userId, charging nothing', async () => {
    const { error, response } = await vend(
      { clientRequestId: 'm3', userId: 'vend-user-4\u0000' },
      { sub: 'vend-user-4' },
    );
    expect(response.status).toBe(400);
    expect(error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [expect.objectContaining({ pointer: '/body/userId' })] },
    });
  });

  it('answers insufficient_scope without ttt:transcribe (credits:read is not enough)', async () => {
    const { error, response } = await vend({ clientRequestId: 's1' }, { scope: 'credits:read' });
    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      code: 'insufficient_scope',
      details: { requiredScope: 'ttt:transcribe', grantedScopes: ['credits:read'] },
    });
  });

  it('answers invalid_request for a missing or malformed clientRequestId, with a pointer', async () => {
    const jwt = await be.userJwt();
    const missing = await be.client.POST('/v1/vend-token', { body: {} as never, headers: be.bearer(jwt) });
    expect(missing.response.status).toBe(400);
    expect(missing.error).toMatchObject({ code: 'invalid_request' });
    expect(JSON.stringify(missing.error?.details)).toContain('clientRequestId');
    const bad = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'has spaces' },
      headers: be.bearer(jwt),
    });
    expect(bad.error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [expect.objectContaining({ pointer: '/body/clientRequestId' })] },
    });
  });

  describe('idempotency', () => {
    it('replays the first answer for the same key and body, with Idempotent-Replayed and no second charge', async () => {
      const first = await vend({ clientRequestId: 'idem-1' }, { sub: 'idem-user' });
      const again = await vend({ clientRequestId: 'idem-1' }, { sub: 'idem-user' });
      expect(again.response.status).toBe(200);
      expect(again.response.headers.get('idempotent-replayed')).toBe('true');
      expect(again.data).toEqual(first.data);
      const balance = await be.client.GET('/v1/credits/balance', {
        headers: be.bearer(await be.userJwt({ sub: 'idem-user' })),
      });
      expect(balance.data?.balance).toBe(2);
    });

    it('answers idempotency_key_reused for the same key with another body', async () => {
      await vend({ clientRequestId: 'idem-2' }, { sub: 'idem-user-2' });
      const { error, response } = await vend(
        { clientRequestId: 'idem-2', userId: 'idem-user-2' },
        { sub: 'idem-user-2' },
      );
      expect(response.status).toBe(422);
      expect(error).toMatchObject({ code: 'idempotency_key_reused', details: { clientRequestId: 'idem-2' } });
    });

    it('scopes keys per user', async () => {
      await vend({ clientRequestId: 'shared-key' }, { sub: 'idem-a' });
      const other = await vend({ clientRequestId: 'shared-key' }, { sub: 'idem-b' });
      expect(other.response.headers.get('idempotent-replayed')).toBeNull();
      expect(other.data?.balanceAfter).toBe(2);
    });
  });
});

describe('POST /v1/vend-token with a synchronous signer that throws', () => {
  let be: EngineTestApp;
  let throwing = false;
  beforeAll(async () => {
    be = await startEngineTestApp({
      deps: {
        decorateSigner:
          (sign: SignServiceToken): SignServiceToken =>
          (claims) => {
            if (throwing) throw new Error('the signing key is unavailable');
            return sign(claims);
          },
      },
    });
  });
  afterAll(async () => {
    await be.close();
  });

  it('answers the normal vend in one transaction: the key is answered at once, never left in progress', async () => {
    const headers = be.bearer(await be.userJwt({ sub: 'sync-ok' }));
    const { data } = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'sync-ok-1' }, headers });
    const row = sqliteDb(be).prepare("SELECT state, token_jti FROM idempotency_keys WHERE user_id = 'sync-ok'").get();
    expect(row).toEqual({ state: 'done', token_jti: data?.tokenId });
  });

  it('rolls the whole vend back: internal_error, no charge, no ledger entry, no token, key free', async () => {
    throwing = true;
    const headers = be.bearer(await be.userJwt({ sub: 'sync-fail' }));
    const { error, response } = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'sync-fail-1' },
      headers,
    });
    expect(response.status).toBe(500);
    expect(error).toMatchObject({
      code: 'internal_error',
      detail: 'The service token could not be signed; nothing was charged.',
    });
    expect(JSON.stringify(error)).not.toContain('signing key is unavailable');
    throwing = false;
    const ledger = await be.client.GET('/v1/credits/ledger', { headers });
    expect(ledger.data?.entries.map((e) => [e.kind, e.reason])).toEqual([['grant', 'signup_bonus']]);
    expect(sqliteDb(be).prepare("SELECT count(*) AS n FROM service_tokens WHERE user_id = 'sync-fail'").get()).toEqual({
      n: 0,
    });
    const retry = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'sync-fail-1' }, headers });
    expect(retry.response.status).toBe(200);
    expect(retry.data?.balanceAfter).toBe(2);
  });
});

describe('concurrent vends', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { SIGNUP_BONUS_CREDITS: '0' } });
  });
  afterAll(async () => {
    await be.close();
  });

  it('200 parallel vends on a 50-credit balance give exactly 50 tokens and a balance of 0', async () => {
    await grant(be, 'racer', 50);
    const headers = be.bearer(await be.userJwt({ sub: 'racer' }));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        be.client.POST('/v1/vend-token', { body: { clientRequestId: `race-${i}` }, headers }),
      ),
    );
    const ok = results.filter((r) => r.response.status === 200);
    const refused = results.filter((r) => r.response.status === 402);
    expect(ok).toHaveLength(50);
    expect(refused).toHaveLength(150);
    expect(refused.every((r) => r.error?.code === 'insufficient_credits')).toBe(true);
    expect(new Set(ok.map((r) => r.data?.tokenId)).size).toBe(50);
    expect(ok.map((r) => r.data?.balanceAfter).sort((a, b) => a! - b!)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    const balance = await be.client.GET('/v1/credits/balance', { headers });
    expect(balance.data).toMatchObject({ balance: 0, main: 0, bonus: 0 });
    const row = sqliteDb(be)
      .prepare('SELECT MIN(balance_after) AS low, COUNT(*) AS charges FROM ledger WHERE user_id = ? AND kind = ?')
      .get('racer', 'charge') as { low: number; charges: number };
    expect(row).toEqual({ low: 0, charges: 50 });
  });
});

describe('vend rate limit', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { RATE_LIMIT_VEND_PER_MIN: '2' } });
  });
  afterAll(async () => {
    await be.close();
  });

  it('answers rate_limited with Retry-After after the per-user limit, per user', async () => {
    const headers = be.bearer(await be.userJwt({ sub: 'limited' }));
    for (const id of ['r1', 'r2'])
      expect((await be.client.POST('/v1/vend-token', { body: { clientRequestId: id }, headers })).response.status).toBe(
        200,
      );
    const { error, response } = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'r3' }, headers });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error).toMatchObject({
      code: 'rate_limited',
      details: { retryAfterSec: retryAfter, limit: 2, windowSec: 60 },
    });
    const other = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'r1' },
      headers: be.bearer(await be.userJwt({ sub: 'not-limited' })),
    });
    expect(other.response.status).toBe(200);
  });
});
