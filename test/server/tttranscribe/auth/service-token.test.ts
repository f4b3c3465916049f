import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../server/shared/config/env.js';
import { loadServiceTokenKeys } from '../../../../server/tttranscribe/auth/service-token-keys.js';
import {
  createServiceTokenIssuer,
  hs256ServiceToken,
  mintServiceToken,
  unsignedServiceToken,
  type ServiceTokenIssuer,
} from '../../../helpers/service-tokens.js';
import { startTttTestApp, T0_MS, TEST_SECRET, type TttTestApp } from '../../../helpers/ttt-app.js';

const NOW = T0_MS / 1000;
const URL_OK = 'https://media.example.com/clip.mp4';
let ttt: TttTestApp;
let stranger: ServiceTokenIssuer;
/** The key resolver the app uses; tests swap in a JWKS URL or file. */
let keySource: JWTVerifyGetKey;

beforeAll(async () => {
  const issuer = await createServiceTokenIssuer({ now: () => ttt.clock.ms });
  keySource = issuer.getKey;
  ttt = await startTttTestApp({ issuer: { ...issuer, getKey: (header, token) => keySource(header, token) } });
  stranger = await createServiceTokenIssuer({ kid: ttt.issuer.kid, now: () => ttt.clock.ms });
});
afterAll(async () => {
  await ttt.close();
});
beforeEach(() => {
  ttt.clock.ms = T0_MS;
});

const submit = (authorization: string | undefined, body: { url: string; language?: string } = { url: URL_OK }) =>
  ttt.client.POST('/transcribe', {
    body,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
const withToken = (token: string) => submit(`Bearer ${token}`);

describe('service token on POST /transcribe', () => {
  it('a valid token queues a job (202)', async () => {
    const { data, response } = await withToken(await ttt.issuer.mint({ sub: 'user-42' }));
    expect(response.status).toBe(202);
    expect(data).toMatchObject({ ok: true, status: 'queued' });
    expect((await ttt.service.store.get(String(data?.jobId)))?.subject).toBe('user-42');
  });

  it('no Authorization -> missing_authorization naming the service token', async () => {
    const { error, response } = await submit(undefined);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'missing_authorization', details: { expected: 'service_token' } });
  });

  it('another scheme -> malformed_authorization', async () => {
    const { error } = await submit('Basic dXNlcjpwYXNz');
    expect(error).toMatchObject({
      code: 'malformed_authorization',
      details: { reason: 'scheme_not_bearer', expected: 'service_token' },
    });
  });

  it.each([
    ['a signature from another key with the same kid', () => stranger.mint(), 'signature_invalid'],
    [
      'an unknown kid',
      () => mintServiceToken(stranger.privateKey, { kid: 'st-unknown', now: () => ttt.clock.ms }),
      'unknown_key_id',
    ],
    ['alg none', () => Promise.resolve(unsignedServiceToken({}, NOW)), 'algorithm_not_allowed'],
    [
      'an HS256 token (e.g. a user JWT)',
      () => hs256ServiceToken('a-user-jwt-secret-that-is-32-bytes-long', NOW),
      'algorithm_not_allowed',
    ],
    ['not a JWT', () => Promise.resolve('opaque-token-value'), 'malformed'],
  ])('%s -> invalid_token (%s)', async (_name, token, reason) => {
    const { error, response } = await withToken(await token());
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'invalid_token', details: { credential: 'service_token', reason } });
  });

  it('HS256 is refused with a hint that a user JWT was sent', async () => {
    const { error } = await withToken(await hs256ServiceToken('a-user-jwt-secret-that-is-32-bytes-long', NOW));
    expect(error?.detail).toMatch(/HS256.*user JWT/);
    expect(error?.details).toMatchObject({ algorithm: 'HS256', allowedAlgorithms: ['ES256'] });
  });

  it('the shared secret sent as a token -> invalid_token saying it leaked, without echoing it', async () => {
    const { error } = await withToken(TEST_SECRET);
    expect(error).toMatchObject({ code: 'invalid_token', details: { received: 'shared_secret' } });
    expect(error?.detail).toMatch(/leaked/);
    expect(JSON.stringify(error)).not.toContain(TEST_SECRET);
  });

  it('an expired token (frozen clock) -> token_expired with expiredAt and serverTime', async () => {
    const { error } = await withToken(await ttt.issuer.mint({ iat: NOW - 960, exp: NOW - 60 }));
    expect(error).toMatchObject({
      code: 'token_expired',
      details: {
        credential: 'service_token',
        expiredAt: new Date((NOW - 60) * 1000).toISOString(),
        serverTime: new Date(T0_MS).toISOString(),
        clockToleranceSec: 30,
      },
    });
    expect(error?.detail).toBe('The token expired 60 seconds ago.');
  });

  it('expired by less than the 30 s tolerance -> accepted', async () => {
    const { response } = await withToken(await ttt.issuer.mint({ iat: NOW - 920, exp: NOW - 20 }));
    expect(response.status).toBe(202);
  });

  it.each([
    ['nbf', { nbf: NOW + 120 }],
    ['iat', { iat: NOW + 120 }],
  ])('%s 120 s in the future -> token_not_yet_valid naming the claim', async (claim, options) => {
    const { error } = await withToken(await ttt.issuer.mint(options));
    expect(error).toMatchObject({
      code: 'token_not_yet_valid',
      responsibility: 'operator',
      details: {
        credential: 'service_token',
        claim,
        notBefore: new Date((NOW + 120) * 1000).toISOString(),
        serverTime: new Date(T0_MS).toISOString(),
      },
    });
  });

  it.each([
    ['wrong aud', { aud: 'business-engine' }, 'aud', 'check_failed'],
    ['wrong iss', { iss: 'someone-else' }, 'iss', 'check_failed'],
    ['missing sub', { omit: ['sub'] }, 'sub', 'missing'],
    ['missing jti', { omit: ['jti'] }, 'jti', 'missing'],
    ['missing scope', { omit: ['scope'] }, 'scope', 'missing'],
    ['wrong typ (a plain JWT)', { typ: 'JWT' }, 'typ', 'check_failed'],
    ['empty sub', { sub: '' }, 'sub', 'invalid'],
    ['a lifetime over 15 minutes', { exp: NOW + 3600 }, 'exp', 'lifetime_too_long'],
  ] as const)('%s -> invalid_token_claims (claim %s)', async (_name, options, claim, reason) => {
    const { error, response } = await withToken(await ttt.issuer.mint(options));
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'invalid_token_claims',
      details: { credential: 'service_token', claim, reason },
    });
  });

  it('a token without ttt:transcribe -> 403 insufficient_scope with required and granted scopes', async () => {
    const { error, response } = await withToken(await ttt.issuer.mint({ scope: 'credits:read profile' }));
    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      code: 'insufficient_scope',
      details: { requiredScope: 'ttt:transcribe', grantedScopes: ['credits:read', 'profile'] },
    });
  });

  it('order: X-Engine-Auth before the token, the token before the body schema', async () => {
    const unsigned = await ttt
      .clientWith({ keys: null })
      .POST('/transcribe', { body: { url: 42 as never }, headers: { Authorization: 'Bearer x' } });
    expect(unsigned.error?.code).toBe('missing_engine_auth_header');
    const badToken = await submit('Bearer not-a-jwt', { url: 42 as never });
    expect(badToken.error?.code).toBe('invalid_token');
    const badBody = await submit(`Bearer ${await ttt.issuer.mint()}`, { url: 42 as never });
    expect(badBody.error?.code).toBe('invalid_request');
  });
});

describe('service token keys (JWKS), swapped into the same app', () => {
  let jwksServer: Server;
  let jwksUrl: string;
  let serveKeys = false;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ttt-jwks-'));
    jwksServer = createServer((_req, res) => {
      if (!serveKeys) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ttt.issuer.jwks));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    keySource = ttt.issuer.getKey;
    await new Promise((resolve) => jwksServer.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('from a URL, fetched lazily: 503 service_unavailable while the engine cannot serve it, 202 once it can', async () => {
    keySource = loadServiceTokenKeys({ kind: 'url', url: jwksUrl });
    const down = await withToken(await ttt.issuer.mint());
    expect(down.response.status).toBe(503);
    expect(down.response.headers.get('retry-after')).toBe('5');
    expect(down.error).toMatchObject({
      code: 'service_unavailable',
      details: { reason: 'service_token_keys_unavailable' },
    });
    serveKeys = true;
    expect((await withToken(await ttt.issuer.mint())).response.status).toBe(202);
  });

  it('from a file', async () => {
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify(ttt.issuer.jwks));
    keySource = loadServiceTokenKeys({ kind: 'file', path: file });
    expect((await withToken(await ttt.issuer.mint())).response.status).toBe(202);
  });

  it.each([
    ['a missing file', 'missing.json', null],
    ['not JSON', 'bad.json', 'nope'],
    ['no keys', 'empty.json', '{"keys":[]}'],
    ['a private key', 'private.json', '{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"}]}'],
  ])('%s -> ConfigError naming TTT_SERVICE_TOKEN_JWKS_FILE', async (_name, name, content) => {
    const file = join(dir, name);
    if (content !== null) await writeFile(file, content);
    let thrown: unknown;
    try {
      loadServiceTokenKeys({ kind: 'file', path: file });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems[0]?.variable).toBe('TTT_SERVICE_TOKEN_JWKS_FILE');
    expect((thrown as ConfigError).message).not.toContain('secret"');
  });
});
