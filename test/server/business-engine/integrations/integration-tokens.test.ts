import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIntegrationToken } from '../../../../server/business-engine/integrations/integration-token-format.js';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { startEngineTestApp, TEST_ADMIN_TOKEN, type EngineTestApp } from '../../../helpers/engine-app.js';
import { startEngineStack, type EngineStack } from '../../../helpers/engine-stack.js';

// Issue 8: integration tokens for server-side callers, managed with a user JWT, accepted where a user acts.
describe('integration tokens', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp();
  });
  afterAll(async () => {
    await be.close();
  });

  const userHeaders = async (sub: string, scope = 'ttt:transcribe credits:read') =>
    be.bearer(await be.userJwt({ sub, scope }));
  const create = async (
    sub: string,
    body: { description: string; scopes: string[]; expiresInSec?: number },
    scope?: string,
  ) => be.client.POST('/v1/integrations/tokens', { body, headers: await userHeaders(sub, scope) });
  const newToken = async (sub: string, scopes: string[], expiresInSec?: number) => {
    const { data, error } = await create(sub, {
      description: `${sub} backend`,
      scopes,
      ...(expiresInSec === undefined ? {} : { expiresInSec }),
    });
    expect(error).toBeUndefined();
    return data!;
  };
  const balance = (token: string) => be.client.GET('/v1/credits/balance', { headers: be.bearer(token) });

  it('creates a token shown once (201, no-store), lists it without the secret and revokes it at once', async () => {
    const { data, error, response } = await create('itk-user-1', {
      description: 'upload pipeline (prod)',
      scopes: ['credits:read'],
      expiresInSec: 3600,
    });
    expect(error).toBeUndefined();
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(data).toMatchObject({
      ok: true,
      id: expect.stringMatching(/^itk_[0-9A-Z]{26}$/),
      description: 'upload pipeline (prod)',
      scopes: ['credits:read'],
      createdAt: new Date(be.clock.ms).toISOString(),
      lastUsedAt: null,
      expiresAt: new Date(be.clock.ms + 3_600_000).toISOString(),
      revokedAt: null,
    });
    expect(data!.token).toMatch(/^yit_[0-9A-Za-z]{49}$/);

    const list = await be.client.GET('/v1/integrations/tokens', { headers: await userHeaders('itk-user-1') });
    const { ok: _ok, token: _token, ...listed } = data!;
    expect(list.data?.tokens).toEqual([listed]);
    expect(JSON.stringify(list.data)).not.toContain(data!.token);

    expect((await balance(data!.token)).data).toMatchObject({ ok: true, userId: 'itk-user-1' });
    const revoked = await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: data!.id } },
      headers: await userHeaders('itk-user-1'),
    });
    expect(revoked.response.status).toBe(204);
    const after = await balance(data!.token);
    expect(after.response.status).toBe(401);
    expect(after.error).toMatchObject({
      code: 'integration_token_revoked',
      responsibility: 'caller',
      details: { credential: 'integration_token', tokenId: data!.id, revokedAt: new Date(be.clock.ms).toISOString() },
    });
    const again = await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: data!.id } },
      headers: await userHeaders('itk-user-1'),
    });
    expect(again.response.status).toBe(204);
  });

  it('never lets a token gain a scope the user JWT lacks', async () => {
    const { error, response } = await create(
      'itk-user-2',
      { description: 'x', scopes: ['credits:read', 'ttt:transcribe'] },
      'credits:read',
    );
    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      code: 'insufficient_scope',
      details: {
        requiredScope: 'ttt:transcribe',
        requestedScopes: ['credits:read', 'ttt:transcribe'],
        grantedScopes: ['credits:read'],
      },
    });
    const list = await be.client.GET('/v1/integrations/tokens', { headers: await userHeaders('itk-user-2') });
    expect(list.data?.tokens).toEqual([]);
  });

  it('validates the request against the spec', async () => {
    const headers = await userHeaders('itk-user-3');
    const empty = await be.client.POST('/v1/integrations/tokens', { body: { description: '', scopes: [] }, headers });
    expect(empty.error).toMatchObject({ code: 'invalid_request' });
    expect((empty.error?.details as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer)).toEqual(
      expect.arrayContaining(['/body/description', '/body/scopes']),
    );
    const short = await be.client.POST('/v1/integrations/tokens', {
      body: { description: 'x', scopes: ['credits:read'], expiresInSec: 5 },
      headers,
    });
    expect(short.error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [{ pointer: '/body/expiresInSec' }] },
    });
    const badId = await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: 'yit_not_an_id' } },
      headers,
    });
    expect(badId.error).toMatchObject({ code: 'invalid_request', details: { errors: [{ pointer: '/path/tokenId' }] } });
  });

  it('takes a user JWT only for managing tokens: an integration token cannot mint, list or revoke', async () => {
    const { token, id } = await newToken('itk-user-4', ['ttt:transcribe', 'credits:read']);
    const mint = await be.client.POST('/v1/integrations/tokens', {
      body: { description: 'more', scopes: ['credits:read'] },
      headers: be.bearer(token),
    });
    expect(mint.response.status).toBe(401);
    expect(mint.error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'integration_token', expected: 'user_jwt' },
    });
    const list = await be.client.GET('/v1/integrations/tokens', { headers: be.bearer(token) });
    expect(list.error).toMatchObject({ code: 'credential_type_mismatch' });
    const revoke = await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: id } },
      headers: be.bearer(token),
    });
    expect(revoke.error).toMatchObject({ code: 'credential_type_mismatch' });
  });

  it("answers integration_token_not_found for another user's token, and leaves it working", async () => {
    const { token, id } = await newToken('itk-owner', ['credits:read']);
    const { error, response } = await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: id } },
      headers: await userHeaders('itk-intruder'),
    });
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ code: 'integration_token_not_found', details: { tokenId: id } });
    expect((await balance(token)).data).toMatchObject({ userId: 'itk-owner' });
  });

  it("acts for its user on balance, ledger and vend-token, with its own scopes enforced like a JWT's", async () => {
    const reader = await newToken('itk-user-5', ['credits:read']);
    const spender = await newToken('itk-user-5', ['ttt:transcribe']);
    expect((await balance(reader.token)).data).toMatchObject({ userId: 'itk-user-5', balance: 3 });
    const ledger = await be.client.GET('/v1/credits/ledger', { headers: be.bearer(reader.token) });
    expect(ledger.data).toMatchObject({ userId: 'itk-user-5', entries: [{ kind: 'grant', reason: 'signup_bonus' }] });

    const denied = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'itk-vend-1' },
      headers: be.bearer(reader.token),
    });
    expect(denied.response.status).toBe(403);
    expect(denied.error).toMatchObject({
      code: 'insufficient_scope',
      details: {
        requiredScope: 'ttt:transcribe',
        grantedScopes: ['credits:read'],
        credential: 'integration_token',
        tokenId: reader.id,
      },
    });
    const vended = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'itk-vend-1' },
      headers: be.bearer(spender.token),
    });
    expect(vended.error).toBeUndefined();
    expect(vended.data).toMatchObject({ ok: true, balanceAfter: 2 });
    expect(await be.engine.store.tokens.get(vended.data!.tokenId)).toMatchObject({
      userId: 'itk-user-5',
      state: 'vended',
    });
  });

  it('refuses a yit_ token where a service token belongs, naming both kinds', async () => {
    const { token } = await newToken('itk-user-6', ['ttt:transcribe']);
    const { error, response } = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: be.bearer(token),
    });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'integration_token', expected: 'service_token' },
    });
  });

  it('refuses a malformed value without a look-up, and a well-formed token it never issued', async () => {
    const issued = generateIntegrationToken();
    const broken = `${issued.slice(0, 20)}${issued[20] === 'A' ? 'B' : 'A'}${issued.slice(21)}`;
    const malformed = await balance(broken);
    expect(malformed.response.status).toBe(401);
    expect(malformed.error).toMatchObject({
      code: 'integration_token_malformed',
      detail: expect.stringContaining('checksum'),
      guidance: expect.stringContaining('not an integration token'),
      details: { credential: 'integration_token', reason: 'checksum_mismatch' },
    });
    expect((await balance(`YIT_${issued.slice(4)}`)).error).toMatchObject({
      code: 'integration_token_malformed',
      details: { reason: 'wrong_prefix' },
    });
    const unknown = await balance(issued);
    expect(unknown.error).toMatchObject({
      code: 'integration_token_unknown',
      details: { credential: 'integration_token' },
    });
  });

  it('expires a token at its expiresAt (frozen clock)', async () => {
    const { token, id, expiresAt } = await newToken('itk-user-7', ['credits:read'], 60);
    be.clock.ms += 59_000;
    expect((await balance(token)).response.status).toBe(200);
    be.clock.ms += 61_000;
    const { error } = await balance(token);
    expect(error).toMatchObject({
      code: 'integration_token_expired',
      detail: `Integration token ${id} expired 60 seconds ago.`,
      details: {
        credential: 'integration_token',
        tokenId: id,
        expiredAt: expiresAt,
        serverTime: new Date(be.clock.ms).toISOString(),
      },
    });
  });

  it('records lastUsedAt, at most once a minute', async () => {
    const { token, id } = await newToken('itk-user-8', ['credits:read']);
    const used = async () =>
      (await be.client.GET('/v1/integrations/tokens', { headers: await userHeaders('itk-user-8') })).data?.tokens.find(
        (t) => t.id === id,
      )?.lastUsedAt;
    const first = be.clock.ms;
    await balance(token);
    expect(await used()).toBe(new Date(first).toISOString());
    be.clock.ms += 30_000;
    await balance(token);
    expect(await used()).toBe(new Date(first).toISOString());
    be.clock.ms += 30_000;
    await balance(token);
    expect(await used()).toBe(new Date(be.clock.ms).toISOString());
  });

  it('answers credential_type_mismatch to a tttsk_ secret and logs a leak warning with its key id only', async () => {
    const secret = generateSharedSecret();
    const { error } = await balance(secret);
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'shared_secret', expected: 'user_jwt' },
    });
    const { keyId } = parseSharedSecret('TEST', secret);
    expect(be.logs.some((l) => l['level'] === 40 && l['keyId'] === keyId && String(l['msg']).includes('leaked'))).toBe(
      true,
    );
    expect(JSON.stringify(be.logs)).not.toContain(secret);
  });

  it('tells a caller that sends an arbitrary service secret what to send instead', async () => {
    const { error } = await balance('prod-service-secret-Z8qKsL2wDn9rFy6aVbP3tGxE0cH4mN5jR7sT1uC9e');
    expect(error).toMatchObject({
      code: 'invalid_token',
      detail: expect.stringContaining('POST /v1/integrations/tokens'),
      details: { credential: 'user_jwt' },
    });
  });

  it("logs each refusal at warn with code, route, the token's id, owner, age and expiry, and the client", async () => {
    const { token, id } = await newToken('itk-user-9', ['credits:read'], 7200);
    be.clock.ms += 600_000;
    await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: id } },
      headers: await userHeaders('itk-user-9'),
    });
    const { response } = await be.client.GET('/v1/credits/balance', {
      headers: { ...be.bearer(token), 'User-Agent': 'upload-pipeline/2.1', 'X-Request-ID': 'req_itk_revoked_log_1' },
    });
    expect(response.status).toBe(401);
    const warn = be.logs.find((l) => l['requestId'] === 'req_itk_revoked_log_1' && l['level'] === 40);
    expect(warn).toMatchObject({
      code: 'integration_token_revoked',
      status: 401,
      route: 'getCreditBalance',
      userAgent: 'upload-pipeline/2.1',
      credential: { kind: 'integration_token', id, claimedSubject: 'itk-user-9', ageSec: 600, expiresInSec: 6600 },
    });
    const access = be.logs.find((l) => l['requestId'] === 'req_itk_revoked_log_1' && l['msg'] === 'request');
    expect(access).toMatchObject({
      status: 401,
      code: 'integration_token_revoked',
      route: 'getCreditBalance',
      credential: 'integration_token',
      credentialId: id,
    });
    expect(JSON.stringify(be.logs)).not.toContain(token);
  });

  it('keeps the admin endpoints closed to integration tokens', async () => {
    const { token } = await newToken('itk-user-10', ['credits:read']);
    const { error } = await be.client.GET('/admin/config', { headers: be.bearer(token) });
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'integration_token', expected: 'admin_token' },
    });
    expect((await be.client.GET('/admin/config', { headers: be.bearer(TEST_ADMIN_TOKEN) })).response.status).toBe(200);
  });
});

describe('an integration token following a job through the real TTTranscribe', () => {
  let stack: EngineStack;
  beforeAll(async () => {
    stack = await startEngineStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  it("vends, and reads the job its user submitted; another user's token is forbidden", async () => {
    const { be, ttt } = stack;
    const jwt = be.bearer(await be.userJwt({ sub: 'itk-job-user' }));
    const created = await be.client.POST('/v1/integrations/tokens', {
      body: { description: 'job runner', scopes: ['ttt:transcribe'] },
      headers: jwt,
    });
    const integration = be.bearer(created.data!.token);
    const vended = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'itk-job-1' },
      headers: integration,
    });
    const submitted = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: be.bearer(vended.data!.token),
    });
    expect(submitted.response.status).toBe(202);
    const jobId = submitted.data!.jobId;
    await ttt.service.worker.drain();
    const status = await be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers: integration });
    expect(status.error).toBeUndefined();
    expect(status.data).toMatchObject({ jobId, status: 'completed', creditRefunded: false });

    const otherJwt = be.bearer(await be.userJwt({ sub: 'itk-other-user' }));
    const other = await be.client.POST('/v1/integrations/tokens', {
      body: { description: 'x', scopes: ['credits:read'] },
      headers: otherJwt,
    });
    const forbidden = await be.client.GET('/ttt/status/{jobId}', {
      params: { path: { jobId } },
      headers: be.bearer(other.data!.token),
    });
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.error).toMatchObject({ code: 'forbidden', details: { resource: 'job', jobId } });
  });
});
