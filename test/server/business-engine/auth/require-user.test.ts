import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineAuthKeyId, generateSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { startEngineTestApp, TEST_ADMIN_TOKEN, type EngineTestApp } from '../../../helpers/engine-app.js';
import { asymmetricUserJwt, mintUserJwt, unsecuredUserJwt } from '../../../helpers/user-tokens.js';

// Every user-credential failure on an operation that takes a user JWT (GET /v1/credits/balance).
describe('user JWT verification', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp();
  });
  afterAll(async () => {
    await be.close();
  });

  const balance = (authorization?: string) =>
    be.client.GET(
      '/v1/credits/balance',
      authorization === undefined ? {} : { headers: { Authorization: authorization } },
    );

  it('accepts a valid HS256 user JWT', async () => {
    const { data, error, response } = await balance(`Bearer ${await be.userJwt({ sub: 'auth-user-ok' })}`);
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ ok: true, userId: 'auth-user-ok', balance: 3, bonus: 3, main: 0 });
  });

  it('answers missing_authorization without a header', async () => {
    const { error, response } = await balance();
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'missing_authorization', details: { expected: 'user_jwt' } });
    expect(error?.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('answers malformed_authorization for another scheme', async () => {
    const { error } = await balance('Basic dXNlcjpwYXNz');
    expect(error).toMatchObject({ code: 'malformed_authorization', details: { reason: 'scheme_not_bearer' } });
  });

  it('answers invalid_token for a bad signature', async () => {
    const token = await mintUserJwt({ nowMs: be.clock.ms, secret: 'another-secret-of-at-least-32-bytes-long!' });
    const { error, response } = await balance(`Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'invalid_token',
      details: { credential: 'user_jwt', reason: 'signature_invalid' },
    });
  });

  it('answers invalid_token for alg none', async () => {
    const { error } = await balance(`Bearer ${unsecuredUserJwt({ sub: 'u', scope: 'ttt:transcribe' }, be.clock.ms)}`);
    expect(error).toMatchObject({
      code: 'invalid_token',
      details: { credential: 'user_jwt', reason: 'algorithm_not_allowed' },
    });
  });

  it.each(['RS256', 'ES256'] as const)(
    'answers invalid_token for an %s token where HS256 is configured',
    async (alg) => {
      const token = await asymmetricUserJwt(alg, { sub: 'u', scope: 'ttt:transcribe' }, be.clock.ms);
      const { error } = await balance(`Bearer ${token}`);
      expect(error).toMatchObject({ code: 'invalid_token', details: { reason: 'algorithm_not_allowed' } });
    },
  );

  it('answers invalid_token for something that is not a JWT', async () => {
    const { error } = await balance('Bearer not-a-jwt-at-all');
    expect(error).toMatchObject({ code: 'invalid_token', details: { credential: 'user_jwt' } });
  });

  it('answers token_expired with expiredAt and serverTime (frozen clock)', async () => {
    const nowSec = be.clock.ms / 1000;
    const token = await be.userJwt({ iat: nowSec - 1000, exp: nowSec - 42 });
    const { error, response } = await balance(`Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'token_expired',
      detail: 'The token expired 42 seconds ago.',
      details: {
        credential: 'user_jwt',
        expiredAt: new Date((nowSec - 42) * 1000).toISOString(),
        serverTime: new Date(be.clock.ms).toISOString(),
        clockToleranceSec: 30,
      },
    });
  });

  it('accepts a token expired within the 30 s clock tolerance', async () => {
    const nowSec = be.clock.ms / 1000;
    const { response } = await balance(`Bearer ${await be.userJwt({ iat: nowSec - 900, exp: nowSec - 20 })}`);
    expect(response.status).toBe(200);
  });

  it('answers token_not_yet_valid for nbf in the future', async () => {
    const nowSec = be.clock.ms / 1000;
    const { error } = await balance(`Bearer ${await be.userJwt({ nbf: nowSec + 300 })}`);
    expect(error).toMatchObject({
      code: 'token_not_yet_valid',
      details: {
        credential: 'user_jwt',
        claim: 'nbf',
        notBefore: new Date((nowSec + 300) * 1000).toISOString(),
        serverTime: new Date(be.clock.ms).toISOString(),
      },
    });
  });

  it('answers token_not_yet_valid for iat in the future (issuer clock ahead)', async () => {
    const nowSec = be.clock.ms / 1000;
    const { error } = await balance(`Bearer ${await be.userJwt({ iat: nowSec + 120, exp: nowSec + 1000 })}`);
    expect(error).toMatchObject({ code: 'token_not_yet_valid', details: { claim: 'iat' } });
  });

  it.each(['sub', 'scope', 'iat', 'exp'] as const)(
    'answers invalid_token_claims naming a missing %s',
    async (claim) => {
      const { error, response } = await balance(`Bearer ${await be.userJwt({ [claim]: null })}`);
      expect(response.status).toBe(401);
      expect(error).toMatchObject({
        code: 'invalid_token_claims',
        details: { credential: 'user_jwt', claim, reason: 'missing' },
      });
    },
  );

  it('answers insufficient_scope for a token without a credits or transcribe scope', async () => {
    const { error, response } = await balance(`Bearer ${await be.userJwt({ scope: 'profile:read' })}`);
    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      code: 'insufficient_scope',
      details: {
        requiredScope: 'credits:read',
        acceptedScopes: ['credits:read', 'ttt:transcribe'],
        grantedScopes: ['profile:read'],
      },
    });
  });

  it('answers credential_type_mismatch for a tttsk_ shared secret and logs its key id, never the value', async () => {
    const secret = generateSharedSecret();
    const { error, response } = await balance(`Bearer ${secret}`);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'shared_secret', expected: 'user_jwt' },
    });
    const warning = be.logs.find((l) => String(l['msg']).includes('shared secret was sent as a bearer'));
    expect(warning).toMatchObject({ keyId: expect.stringMatching(/^[0-9a-f]{16}$/), ours: false });
    expect(JSON.stringify(be.logs)).not.toContain(secret);
    expect(JSON.stringify(error)).not.toContain(secret);
  });

  it("flags the engine's own shared secret sent as a bearer as ours", async () => {
    const own = engineAuthKeyId(be.config.tttKeys[0]!.key);
    const ownSecret = `tttsk_${Buffer.from(be.config.tttKeys[0]!.key).toString('base64url')}`;
    await balance(`Bearer ${ownSecret}`);
    expect(be.logs.some((l) => l['keyId'] === own && l['ours'] === true)).toBe(true);
  });

  // Issue 8: the balance takes integration tokens now, so a broken yit_ value is judged as one (see
  // test/server/business-engine/integrations/); where only a user JWT is taken it stays a mismatch.
  it('answers integration_token_malformed for a broken yit_ value, credential_type_mismatch where only a user JWT is taken', async () => {
    const { error } = await balance('Bearer yit_0123456789abcdefghijklmnopqrstuv');
    expect(error).toMatchObject({
      code: 'integration_token_malformed',
      details: { credential: 'integration_token', reason: 'wrong_length' },
    });
    const list = await be.client.GET('/v1/integrations/tokens', {
      headers: { Authorization: 'Bearer yit_0123456789abcdefghijklmnopqrstuv' },
    });
    expect(list.error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'integration_token', expected: 'user_jwt' },
    });
  });

  it('answers credential_type_mismatch for the admin token', async () => {
    const { error } = await balance(`Bearer ${TEST_ADMIN_TOKEN}`);
    expect(error).toMatchObject({ code: 'credential_type_mismatch', details: { received: 'admin_token' } });
  });
});

describe('user JWT issuer and audience', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({
      env: { USER_JWT_ISSUER: 'https://id.pluct.test', USER_JWT_AUDIENCE: 'pluct-engine' },
    });
  });
  afterAll(async () => {
    await be.close();
  });

  it('accepts the configured issuer and audience and names a wrong one', async () => {
    const good = await be.userJwt({ iss: 'https://id.pluct.test', aud: 'pluct-engine' });
    expect((await be.client.GET('/v1/credits/balance', { headers: be.bearer(good) })).response.status).toBe(200);
    const wrongIss = await be.userJwt({ iss: 'https://evil.test', aud: 'pluct-engine' });
    const { error } = await be.client.GET('/v1/credits/balance', { headers: be.bearer(wrongIss) });
    expect(error).toMatchObject({ code: 'invalid_token_claims', details: { claim: 'iss', reason: 'check_failed' } });
    const noAud = await be.userJwt({ iss: 'https://id.pluct.test' });
    const { error: audError } = await be.client.GET('/v1/credits/balance', { headers: be.bearer(noAud) });
    expect(audError).toMatchObject({ code: 'invalid_token_claims', details: { claim: 'aud', reason: 'missing' } });
  });
});

describe('user JWTs from an identity provider JWKS', () => {
  let be: EngineTestApp;
  let idp: Server;
  let privateKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const jwks = JSON.stringify({
      keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' }],
    });
    idp = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`;
    be = await startEngineTestApp({
      env: { USER_JWT_SECRET: undefined, USER_JWT_JWKS_URL: url, USER_JWT_ISSUER: 'https://id.pluct.test' },
    });
  });
  afterAll(async () => {
    await be.close();
    idp.closeAllConnections();
    await new Promise<void>((resolve) => idp.close(() => resolve()));
  });

  const mint = (alg: 'ES256', claims: Record<string, unknown>) => {
    const iat = be.clock.ms / 1000;
    return new SignJWT({
      sub: 'idp-user',
      scope: 'credits:read',
      iss: 'https://id.pluct.test',
      iat,
      exp: iat + 600,
      ...claims,
    })
      .setProtectedHeader({ alg, kid: 'idp-1' })
      .sign(privateKey);
  };

  it('accepts an ES256 token from the JWKS', async () => {
    const { data } = await be.client.GET('/v1/credits/balance', { headers: be.bearer(await mint('ES256', {})) });
    expect(data).toMatchObject({ userId: 'idp-user' });
  });

  it('refuses an HS256 token (no HS/asymmetric mix-up) and one of another issuer', async () => {
    const hs = await mintUserJwt({ nowMs: be.clock.ms, iss: 'https://id.pluct.test' });
    expect((await be.client.GET('/v1/credits/balance', { headers: be.bearer(hs) })).error).toMatchObject({
      code: 'invalid_token',
      details: { reason: 'algorithm_not_allowed' },
    });
    const other = await mint('ES256', { iss: 'https://elsewhere.test' });
    expect((await be.client.GET('/v1/credits/balance', { headers: be.bearer(other) })).error).toMatchObject({
      code: 'invalid_token_claims',
      details: { claim: 'iss' },
    });
  });
});
