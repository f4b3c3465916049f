import { decodeJwt, importJWK, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { ENGINE_T0_MS, TEST_ADMIN_TOKEN, type EngineTestApp } from '../../../helpers/engine-app.js';
import {
  idempotentTtt,
  startEngineWithFakeTtt,
  upstreamProblem,
  type FakeTtt,
} from '../../../helpers/engine-fake-ttt.js';
import { createServiceTokenIssuer, mintServiceToken } from '../../../helpers/service-tokens.js';

const ACCEPTED = (jobId: string) => ({
  status: 202,
  body: { ok: true, jobId, status: 'queued', submittedAt: new Date(ENGINE_T0_MS).toISOString() },
});
const CLIP = { url: 'https://media.example.com/clip.mp4', language: 'en' };

async function ledgerOf(be: EngineTestApp, sub = 'submit-user') {
  const { data } = await be.client.GET('/v1/credits/ledger', { headers: be.bearer(await be.userJwt({ sub })) });
  return data!.entries;
}

describe('POST /ttt/transcribe', () => {
  let be: EngineTestApp;
  let ttt: FakeTtt;
  let vend: (sub?: string) => Promise<string>;
  let vendFull: (sub?: string) => Promise<{ token: string; tokenId: string }>;
  let jobs = 0;
  beforeAll(async () => {
    const pair = await startEngineWithFakeTtt();
    ({ be, ttt } = pair);
    vend = async (sub?: string) => (await pair.vend(sub)).token;
    vendFull = pair.vend;
    ttt.respond((req) =>
      req.target === '/transcribe'
        ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
        : { status: 404, body: {} },
    );
  });
  afterAll(async () => {
    // There is no unsigned path: every request TTTranscribe saw verifies with the shared secret.
    expect(ttt.requests.length).toBeGreaterThan(0);
    expect(ttt.requests.filter((r) => !r.engineAuth.ok)).toEqual([]);
    await be.close();
    await ttt.close();
  });

  const submit = (
    token: string,
    body: { url: string; language?: string } = CLIP,
    headers: Record<string, string> = {},
  ) => be.client.POST('/ttt/transcribe', { body, headers: { ...be.bearer(token), ...headers } });

  it('forwards the job signed with X-Engine-Auth, with the service token and the request id, and answers 202', async () => {
    const token = await vend();
    const before = ttt.requests.length;
    const { data, error, response } = await submit(token, CLIP, { 'X-Request-ID': 'req_e2e_submit_0001' });
    expect(error).toBeUndefined();
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/ttt/status/${data!.jobId}`);
    expect(data).toMatchObject({ ok: true, status: 'queued', jobId: expect.stringMatching(/^job_TEST/) });
    const sent = ttt.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      method: 'POST',
      target: '/transcribe',
      engineAuth: { ok: true, keyId: be.config.tttKeys[0]!.keyId },
    });
    expect(sent[0]!.headers['authorization']).toBe(`Bearer ${token}`);
    expect(sent[0]!.headers['x-request-id']).toBe('req_e2e_submit_0001');
    expect(JSON.parse(sent[0]!.body)).toEqual(CLIP);
  });

  it('answers service_token_already_used to a second submission without calling TTTranscribe', async () => {
    const token = await vend();
    const first = await submit(token);
    const before = ttt.requests.length;
    const { error, response } = await submit(token);
    expect(response.status).toBe(409);
    expect(error).toMatchObject({ code: 'service_token_already_used', details: { jobId: first.data!.jobId } });
    expect(ttt.requests.length).toBe(before);
  });

  it('makes one job of two concurrent submissions of one token: the second resumes with the same Idempotency-Key', async () => {
    const fake = idempotentTtt();
    ttt.respond(fake.handler);
    try {
      const { token, tokenId } = await vendFull();
      const before = ttt.requests.length;
      const results = await Promise.all([submit(token), submit(token)]);
      const sent = ttt.requests.slice(before);
      expect(new Set(sent.map((r) => r.headers['idempotency-key'])).size).toBe(1);
      expect(sent[0]!.headers['idempotency-key']).toBe((await be.engine.store.tokens.get(tokenId))?.submissionKey);
      expect(fake.jobs).toHaveLength(1);
      // Each answer is the one job (or, had the first been linked before the second was claimed, already_used with it).
      for (const r of results) {
        if (r.response.status === 202) expect(r.data?.jobId).toBe(fake.jobs[0]!.jobId);
        else
          expect(r.error).toMatchObject({
            code: 'service_token_already_used',
            details: { jobId: fake.jobs[0]!.jobId },
          });
      }
      expect(await be.engine.store.tokens.get(tokenId)).toMatchObject({
        state: 'submitted',
        jobId: fake.jobs[0]!.jobId,
      });
    } finally {
      ttt.respond((req) =>
        req.target === '/transcribe'
          ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
          : { status: 404, body: {} },
      );
    }
  });

  it('answers service_token_required to a user JWT', async () => {
    const { error, response } = await submit(await be.userJwt());
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'service_token_required', details: { received: 'user_jwt' } });
  });

  it.each([
    ['a tttsk_ shared secret', () => generateSharedSecret(), 'shared_secret'],
    ['a yit_ integration token', () => 'yit_0123456789abcdefghijklmnopqrstuv', 'integration_token'],
    ['the admin token', () => TEST_ADMIN_TOKEN, 'admin_token'],
  ])('answers credential_type_mismatch to %s', async (_name, token, received) => {
    const { error, response } = await submit(token());
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'credential_type_mismatch', details: { received, expected: 'service_token' } });
  });

  it('answers missing_authorization and malformed_authorization naming the service token', async () => {
    const missing = await be.client.POST('/ttt/transcribe', { body: CLIP });
    expect(missing.error).toMatchObject({ code: 'missing_authorization', details: { expected: 'service_token' } });
    const malformed = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: { Authorization: 'Bearer' } });
    expect(malformed.error).toMatchObject({ code: 'malformed_authorization', details: { expected: 'service_token' } });
  });

  describe('service tokens the engine did not issue, or no longer honours', () => {
    let ownKey: CryptoKey;
    beforeAll(async () => {
      ownKey = (await importJWK({ ...be.config.serviceTokenKey.privateJwk }, 'ES256')) as CryptoKey;
    });
    const now = () => be.clock.ms;

    it('answers invalid_token for a token signed by another key under the engine kid', async () => {
      const stranger = await createServiceTokenIssuer({ now });
      const forged = await mintServiceToken(stranger.privateKey, {
        kid: be.config.serviceTokenKey.kid,
        sub: 'submit-user',
        now,
      });
      const { error } = await submit(forged);
      expect(error).toMatchObject({
        code: 'invalid_token',
        details: { credential: 'service_token', reason: 'signature_invalid' },
      });
    });

    it('answers invalid_token for a forgery of a vended token: same kid and claims, another key ', async () => {
      const { token, tokenId } = await vendFull();
      const claims = decodeJwt(token);
      const stranger = await createServiceTokenIssuer({ now });
      const forged = await mintServiceToken(stranger.privateKey, {
        kid: be.config.serviceTokenKey.kid,
        sub: 'submit-user',
        jti: tokenId,
        now,
      });
      expect(decodeJwt(forged)).toMatchObject({ sub: claims.sub, jti: claims.jti });
      expect((await submit(forged)).error).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'signature_invalid' },
      });
      expect((await be.engine.store.tokens.get(tokenId))?.state).toBe('vended'); // nothing was claimed: the real token still works
      expect((await submit(token)).response.status).toBe(202);
    });

    it('answers invalid_token for an unknown kid', async () => {
      const token = await mintServiceToken(ownKey, { kid: 'someone-elses-kid', now });
      expect((await submit(token)).error).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'unknown_key_id' },
      });
    });

    it('answers invalid_token for a well-signed token that was never vended', async () => {
      const token = await mintServiceToken(ownKey, {
        kid: be.config.serviceTokenKey.kid,
        sub: 'submit-user',
        jti: 'tok_NEVERVENDED0000000000000',
        now,
      });
      expect((await submit(token)).error).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'unknown_token' },
      });
    });

    it('answers invalid_token_claims for a wrong audience', async () => {
      const token = await mintServiceToken(ownKey, { kid: be.config.serviceTokenKey.kid, aud: 'someone-else', now });
      expect((await submit(token)).error).toMatchObject({
        code: 'invalid_token_claims',
        details: { credential: 'service_token', claim: 'aud' },
      });
    });

    it('answers invalid_token_claims for a missing jti', async () => {
      const token = await mintServiceToken(ownKey, { kid: be.config.serviceTokenKey.kid, omit: ['jti'], now });
      expect((await submit(token)).error).toMatchObject({
        code: 'invalid_token_claims',
        details: { claim: 'jti', reason: 'missing' },
      });
    });

    it('answers insufficient_scope for a token without ttt:transcribe', async () => {
      const token = await mintServiceToken(ownKey, { kid: be.config.serviceTokenKey.kid, scope: 'credits:read', now });
      const { error, response } = await submit(token);
      expect(response.status).toBe(403);
      expect(error).toMatchObject({
        code: 'insufficient_scope',
        details: { requiredScope: 'ttt:transcribe', grantedScopes: ['credits:read'] },
      });
    });

    it('answers token_not_yet_valid for nbf in the future', async () => {
      const token = await mintServiceToken(ownKey, {
        kid: be.config.serviceTokenKey.kid,
        nbf: now() / 1000 + 600,
        now,
      });
      expect((await submit(token)).error).toMatchObject({
        code: 'token_not_yet_valid',
        details: { credential: 'service_token', claim: 'nbf' },
      });
    });

    it('answers token_expired once the token is past exp plus tolerance', async () => {
      const token = await vend();
      be.clock.ms += 931_000;
      try {
        const { error } = await submit(token);
        expect(error).toMatchObject({
          code: 'token_expired',
          details: {
            credential: 'service_token',
            expiredAt: new Date(ENGINE_T0_MS + 900_000).toISOString(),
            serverTime: new Date(be.clock.ms).toISOString(),
          },
        });
      } finally {
        be.clock.ms -= 931_000;
      }
    });
  });

  it('answers invalid_request for a body without url, keeping the token usable', async () => {
    const token = await vend();
    const { error, response } = await submit(token, { language: 'en' } as never);
    expect(response.status).toBe(400);
    expect(error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [expect.objectContaining({ pointer: '/body/url' })] },
    });
    expect((await submit(token)).response.status).toBe(202);
  });

  it('answers payload_too_large and unsupported_media_type', async () => {
    const token = await vend();
    const big = await fetch(`${be.baseUrl}/ttt/transcribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ url: `https://media.example.com/${'a'.repeat(20_000)}` }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 16384 } });
    const text = await fetch(`${be.baseUrl}/ttt/transcribe`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` },
      body: 'https://media.example.com/clip.mp4',
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 'unsupported_media_type' });
  });

  it("passes on TTTranscribe's 422 unsupported_url and gives the token back (no refund)", async () => {
    const token = await vend('url-user');
    ttt.respond(() =>
      upstreamProblem(422, 'unsupported_url', 'Only http and https URLs can be transcribed.', {
        reason: 'host_not_allowed',
      }),
    );
    const { error, response } = await submit(token, { url: 'https://blocked.example.com/v.mp4' });
    expect(response.status).toBe(422);
    expect(error).toMatchObject({
      code: 'unsupported_url',
      detail: 'Only http and https URLs can be transcribed.',
      details: { reason: 'host_not_allowed', upstreamRequestId: 'req_upstream_0001' },
    });
    ttt.respond(() => ACCEPTED('job_AFTERFIX00000001'));
    const retry = await submit(token);
    expect(retry.response.status).toBe(202);
    expect((await ledgerOf(be, 'url-user')).filter((e) => e.kind === 'refund')).toEqual([]);
    ttt.respond((req) =>
      req.target === '/transcribe'
        ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
        : { status: 404, body: {} },
    );
  });

  it("turns TTTranscribe's 401 into 502 upstream_auth_failure, refunds the credit and revokes the token", async () => {
    const token = await vend('auth-fail-user');
    ttt.respond(() =>
      upstreamProblem(401, 'missing_engine_auth_header', 'This endpoint requires an X-Engine-Auth v1 header.'),
    );
    const { error, response } = await submit(token);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_auth_failure',
      details: {
        upstream: 'tttranscribe',
        upstreamStatus: 401,
        upstreamCode: 'missing_engine_auth_header',
        upstreamMessage: 'This endpoint requires an X-Engine-Auth v1 header.',
        upstreamRequestId: 'req_upstream_0001',
        creditRefunded: true,
      },
    });
    const ledger = await ledgerOf(be, 'auth-fail-user');
    expect(ledger[0]).toMatchObject({
      kind: 'refund',
      amount: 1,
      reason: 'upstream_auth_failure',
      requestId: error!.requestId,
    });
    const again = await submit(token);
    expect(again.response.status).toBe(401);
    expect(again.error).toMatchObject({
      code: 'service_token_revoked',
      details: { reason: 'upstream_auth_failure', refundedAt: new Date(be.clock.ms).toISOString() },
    });
    ttt.respond((req) =>
      req.target === '/transcribe'
        ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
        : { status: 404, body: {} },
    );
  });

  it('turns a 403 into upstream_auth_failure too (never a 403 to the app)', async () => {
    const token = await vend();
    ttt.respond(() => upstreamProblem(403, 'insufficient_scope', "This operation needs the scope 'ttt:transcribe'."));
    const { error, response } = await submit(token);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_auth_failure',
      details: { upstreamStatus: 403, upstreamCode: 'insufficient_scope', creditRefunded: true },
    });
    ttt.respond((req) =>
      req.target === '/transcribe'
        ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
        : { status: 404, body: {} },
    );
  });

  it('turns a 500 into 502 upstream_error with a refund once TTTranscribe says it stored no job under the key', async () => {
    const token = await vend('error-user');
    ttt.respond((req) =>
      req.method === 'POST'
        ? upstreamProblem(500, 'internal_error', 'An unexpected error occurred.')
        : upstreamProblem(404, 'job_not_found', 'No job was stored under this Idempotency-Key.'),
    );
    const { error, response } = await submit(token);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_error',
      details: { upstream: 'tttranscribe', upstreamStatus: 500, upstreamCode: 'internal_error', creditRefunded: true },
    });
    expect((await ledgerOf(be, 'error-user'))[0]).toMatchObject({ kind: 'refund', reason: 'upstream_error' });
    ttt.respond((req) =>
      req.target === '/transcribe'
        ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
        : { status: 404, body: {} },
    );
  });

  it('turns an unparsable answer into upstream_error, pending: a proxy page says nothing about the job', async () => {
    const { token, tokenId } = await vendFull();
    ttt.respond(() => ({ status: 502, raw: '<html>Bad Gateway</html>' }));
    const { error } = await submit(token);
    expect(error).toMatchObject({
      code: 'upstream_error',
      details: { upstreamStatus: 502, reason: 'unparsable', creditRefunded: false, submissionPending: true },
    });
    expect((await be.engine.store.tokens.get(tokenId))?.state).toBe('submitting');
    ttt.respond((req) =>
      req.target === '/transcribe'
        ? ACCEPTED(`job_TEST${String((jobs += 1)).padStart(8, '0')}`)
        : { status: 404, body: {} },
    );
  });
});
