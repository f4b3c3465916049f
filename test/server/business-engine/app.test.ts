import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineTestApp, TEST_ADMIN_TOKEN, type EngineTestApp } from '../../helpers/engine-app.js';
import { TEST_USER_JWT_SECRET } from '../../helpers/user-tokens.js';

describe('credits, admin and service endpoints', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp();
  });
  afterAll(async () => {
    await be.close();
  });

  const admin = () => be.bearer(TEST_ADMIN_TOKEN);
  // The generated type makes `bucket` required (it has a default); the spec lets a request omit it.
  const grant = (userId: string, amount: number, bucket?: 'main' | 'bonus') =>
    be.client.POST('/admin/credits/grant', {
      body: { userId, amount, reason: `grant ${amount}`, ...(bucket ? { bucket } : {}) } as never,
      headers: admin(),
    });

  describe('GET /v1/credits/balance', () => {
    it('gives a new user the signup bonus exactly once, even under concurrent first requests', async () => {
      const headers = be.bearer(await be.userJwt({ sub: 'newcomer', scope: 'credits:read' }));
      const results = await Promise.all(
        Array.from({ length: 20 }, () => be.client.GET('/v1/credits/balance', { headers })),
      );
      for (const r of results)
        expect(r.data).toMatchObject({
          ok: true,
          userId: 'newcomer',
          balance: 3,
          main: 0,
          bonus: 3,
          updatedAt: new Date(be.clock.ms).toISOString(),
        });
      const { data } = await be.client.GET('/v1/credits/ledger', { headers });
      expect(data?.entries).toEqual([
        {
          id: expect.any(Number),
          kind: 'grant',
          bucket: 'bonus',
          amount: 3,
          balanceAfter: 3,
          reason: 'signup_bonus',
          requestId: expect.any(String),
          jobId: null,
          tokenId: null,
          createdAt: new Date(be.clock.ms).toISOString(),
        },
      ]);
    });
  });

  describe('GET /v1/credits/ledger', () => {
    it('pages newest first with an opaque cursor until nextCursor is null', async () => {
      for (const amount of [1, 2, 3, 4]) await grant('pager', amount);
      const headers = be.bearer(await be.userJwt({ sub: 'pager' }));
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const { data, error } = await be.client.GET('/v1/credits/ledger', {
          params: { query: { limit: 2, ...(cursor ? { cursor } : {}) } },
          headers,
        });
        expect(error).toBeUndefined();
        expect(data!.entries.length).toBeLessThanOrEqual(2);
        seen.push(...data!.entries.map((e) => e.amount));
        if (data!.nextCursor === null) break;
        cursor = data!.nextCursor;
      }
      expect(seen).toEqual([4, 3, 2, 1, 3]);
    });

    it('answers invalid_request for a cursor it did not issue and for a limit out of range', async () => {
      const headers = be.bearer(await be.userJwt({ sub: 'pager' }));
      const bad = await be.client.GET('/v1/credits/ledger', {
        params: { query: { cursor: 'bm90LWEtY3Vyc29y' } },
        headers,
      });
      expect(bad.response.status).toBe(400);
      expect(bad.error).toMatchObject({ code: 'invalid_request', details: { errors: [{ pointer: '/query/cursor' }] } });
      const big = await be.client.GET('/v1/credits/ledger', { params: { query: { limit: 500 } }, headers });
      expect(big.error).toMatchObject({
        code: 'invalid_request',
        details: { errors: [expect.objectContaining({ pointer: '/query/limit' })] },
      });
    });
  });

  describe('POST /admin/credits/grant', () => {
    it('grants to main by default and reports the new balance and entry', async () => {
      const { data, response } = await grant('granted-user', 10);
      expect(response.status).toBe(200);
      expect(data).toEqual({
        ok: true,
        userId: 'granted-user',
        entryId: expect.any(Number),
        balance: 13,
        main: 10,
        bonus: 3,
      });
      const bonus = await grant('granted-user', 2, 'bonus');
      expect(bonus.data).toMatchObject({ balance: 15, main: 10, bonus: 5 });
    });

    it('grants once per clientRequestId: a retry gets the first answer with Idempotent-Replayed, another body 422', async () => {
      const body = { userId: 'keyed-user', amount: 7, reason: 'order 1001', clientRequestId: 'order-1001' };
      const first = await be.client.POST('/admin/credits/grant', { body: body as never, headers: admin() });
      expect(first.response.status).toBe(200);
      expect(first.response.headers.get('idempotent-replayed')).toBeNull();
      // The same grant with the bucket's default spelled out is the same body.
      const retry = await be.client.POST('/admin/credits/grant', {
        body: { ...body, bucket: 'main' },
        headers: admin(),
      });
      expect(retry.response.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.data).toEqual(first.data);
      const other = await be.client.POST('/admin/credits/grant', {
        body: { ...body, amount: 70 } as never,
        headers: admin(),
      });
      expect(other.response.status).toBe(422);
      expect(other.error).toMatchObject({ code: 'idempotency_key_reused', details: { clientRequestId: 'order-1001' } });
      const { data } = await be.client.GET('/v1/credits/balance', {
        headers: be.bearer(await be.userJwt({ sub: 'keyed-user', scope: 'credits:read' })),
      });
      expect(data).toMatchObject({ balance: 10, main: 7 });
    });

    it('answers missing_authorization, invalid_token for a wrong admin token, credential_type_mismatch for a user JWT', async () => {
      const body = { userId: 'x', amount: 1, reason: 'r', bucket: 'main' as const };
      const missing = await be.client.POST('/admin/credits/grant', { body });
      expect(missing.error).toMatchObject({ code: 'missing_authorization', details: { expected: 'admin_token' } });
      const wrong = await be.client.POST('/admin/credits/grant', { body, headers: be.bearer('x'.repeat(40)) });
      expect(wrong.response.status).toBe(401);
      expect(wrong.error).toMatchObject({
        code: 'invalid_token',
        details: { credential: 'admin_token', reason: 'admin_token_mismatch' },
      });
      const user = await be.client.POST('/admin/credits/grant', { body, headers: be.bearer(await be.userJwt()) });
      expect(user.error).toMatchObject({
        code: 'credential_type_mismatch',
        details: { received: 'user_jwt', expected: 'admin_token' },
      });
    });

    it('answers invalid_request for a zero amount and an unknown member', async () => {
      const zero = await be.client.POST('/admin/credits/grant', {
        body: { userId: 'x', amount: 0, reason: 'r', bucket: 'main' },
        headers: admin(),
      });
      expect(zero.error).toMatchObject({
        code: 'invalid_request',
        details: { errors: [expect.objectContaining({ pointer: '/body/amount' })] },
      });
      const extra = await be.client.POST('/admin/credits/grant', {
        body: { userId: 'x', amount: 1, reason: 'r', bonus: true } as never,
        headers: admin(),
      });
      expect(extra.error).toMatchObject({ code: 'invalid_request' });
    });

    // Issue 18 (11): control characters are refused in userId and reason, as in an integration token's description.
    it.each([
      ['userId', { userId: 'user\u0000x', reason: 'r' }],
      ['userId', { userId: 'user\nx', reason: 'r' }],
      ['reason', { userId: 'x', reason: 'line one\rline two' }],
      ['reason', { userId: 'x', reason: 'bell\u0007' }],
      ['reason', { userId: 'x', reason: 'del\u007f' }],
    ])('answers invalid_request naming /body/%s for a control character, and grants nothing', async (field, fields) => {
      const refused = await be.client.POST('/admin/credits/grant', {
        body: { amount: 1, bucket: 'main', ...fields },
        headers: admin(),
      });
      expect(refused.response.status).toBe(400);
      expect(refused.error).toMatchObject({
        code: 'invalid_request',
        details: { errors: [expect.objectContaining({ pointer: `/body/${field}` })] },
      });
    });
  });

  describe('GET /admin/config', () => {
    it('shows settings and secrets redacted to status and key id, never a value', async () => {
      const { data, response } = await be.client.GET('/admin/config', { headers: admin() });
      expect(response.status).toBe(200);
      expect(data?.settings).toMatchObject({
        ENGINE_DB: ':memory:',
        SIGNUP_BONUS_CREDITS: '3',
        USER_JWT_MODE: 'hs256',
        TTT_BASE_URL: be.config.tttBaseUrl,
      });
      expect(data?.secrets).toEqual([
        { name: 'TTT_SHARED_SECRET', status: 'configured', keyId: be.config.tttKeys[0]!.keyId },
        { name: 'TTT_SHARED_SECRET_NEXT', status: 'missing', keyId: null },
        { name: 'USER_JWT_SECRET', status: 'configured', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) },
        { name: 'SERVICE_TOKEN_PRIVATE_KEY', status: 'configured', keyId: be.config.serviceTokenKey.kid },
        { name: 'ADMIN_TOKEN', status: 'configured', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) },
        { name: 'ENGINE_METRICS_TOKEN', status: 'missing', keyId: null },
      ]);
      const text = JSON.stringify(data);
      expect(text).not.toContain(TEST_ADMIN_TOKEN);
      expect(text).not.toContain(TEST_USER_JWT_SECRET);
      expect(text).not.toContain(be.config.serviceTokenKey.privateJwk['d']);
      expect(text).not.toContain(Buffer.from(be.config.tttKeys[0]!.key).toString('base64url'));
    });

    it('answers credential_type_mismatch to a service token', async () => {
      const { data } = await be.client.POST('/v1/vend-token', {
        body: { clientRequestId: 'cfg-1' },
        headers: be.bearer(await be.userJwt({ sub: 'cfg' })),
      });
      const { error } = await be.client.GET('/admin/config', { headers: be.bearer(data!.token) });
      expect(error).toMatchObject({
        code: 'credential_type_mismatch',
        details: { received: 'service_token', expected: 'admin_token' },
      });
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the public key (no private part) that verifies vended tokens', async () => {
      const { data, response } = await be.client.GET('/.well-known/jwks.json');
      expect(response.status).toBe(200);
      expect(data?.keys).toHaveLength(1);
      expect(data?.keys[0]).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
        kid: be.config.serviceTokenKey.kid,
        alg: 'ES256',
        use: 'sig',
      });
      expect(data?.keys[0]).not.toHaveProperty('d');
      const vended = await be.client.POST('/v1/vend-token', {
        body: { clientRequestId: 'jwks-1' },
        headers: be.bearer(await be.userJwt({ sub: 'jwks' })),
      });
      const { payload } = await jwtVerify(vended.data!.token, createLocalJWKSet(data as never), {
        algorithms: ['ES256'],
        typ: 'ttt-service+jwt',
        issuer: 'business-engine',
        audience: 'tttranscribe',
        currentDate: new Date(be.clock.ms),
      });
      expect(payload).toMatchObject({ sub: 'jwks', jti: vended.data!.tokenId });
    });
  });

  describe('HTTP conventions', () => {
    it('GET /health answers with build information, never the Node version (it needs no credential)', async () => {
      const { data, response } = await be.client.GET('/health');
      expect(response.status).toBe(200);
      expect(data).toMatchObject({
        ok: true,
        service: 'business-engine',
        build: { version: expect.any(String) },
        serverTime: new Date(be.clock.ms).toISOString(),
      });
      expect(data?.build).not.toHaveProperty('node');
      expect(JSON.stringify(data)).not.toContain(process.version);
    });

    it('echoes a well-formed X-Request-ID and generates one otherwise', async () => {
      const given = await be.client.GET('/health', { params: { header: { 'X-Request-ID': 'req_from_the_app_01' } } });
      expect(given.response.headers.get('x-request-id')).toBe('req_from_the_app_01');
      const generated = await be.client.GET('/health', { params: { header: { 'X-Request-ID': 'bad id!' } } });
      expect(generated.response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    });

    it('answers not_found for an unknown path (a missing /v1 prefix)', async () => {
      const response = await fetch(`${be.baseUrl}/credits/balance`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({
        code: 'not_found',
        details: { method: 'GET', path: '/credits/balance' },
      });
    });

    it('answers method_not_allowed with Allow', async () => {
      const response = await fetch(`${be.baseUrl}/v1/vend-token`);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.json()).toMatchObject({ code: 'method_not_allowed', details: { allowed: ['POST'] } });
    });

    it('answers invalid_request for malformed JSON and unsupported_media_type for a form body', async () => {
      const headers = { authorization: `Bearer ${await be.userJwt()}` };
      const broken = await fetch(`${be.baseUrl}/v1/vend-token`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: '{"clientRequestId":',
      });
      expect(broken.status).toBe(400);
      expect(await broken.json()).toMatchObject({
        code: 'invalid_request',
        details: { errors: [{ pointer: '/body' }] },
      });
      const form = await fetch(`${be.baseUrl}/v1/vend-token`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'clientRequestId=a',
      });
      expect(form.status).toBe(415);
      expect(await form.json()).toMatchObject({ code: 'unsupported_media_type' });
    });
  });
});

describe('static docs', () => {
  it('serves DOCS_DIR under /docs when the folder exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-docs-'));
    writeFileSync(join(dir, 'index.html'), '<h1>Pluct API</h1>');
    const be = await startEngineTestApp({ env: { DOCS_DIR: dir } });
    try {
      const page = await fetch(`${be.baseUrl}/docs/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Pluct API');
      const missing = await fetch(`${be.baseUrl}/docs/nope.html`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'not_found' });
    } finally {
      await be.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
