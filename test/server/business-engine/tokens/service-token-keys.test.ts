import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  UnsecuredJWT,
  type JWTPayload,
} from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { newTokenId, ServiceTokenKeys } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { SERVICE_TOKEN } from '../../../../server/protocol/service-token.js';
import { refusal } from '../../../helpers/refusal.js';

// jose as it is, with UnsecuredJWT.decode (the claims check of the full path) watched, to tell the two paths apart.
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>();
  const decode = vi.fn((...args: Parameters<typeof jose.UnsecuredJWT.decode>) => jose.UnsecuredJWT.decode(...args));
  return {
    ...jose,
    UnsecuredJWT: Object.assign(Object.create(jose.UnsecuredJWT) as typeof jose.UnsecuredJWT, { decode }),
  };
});

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const iat = T0 / 1000;

async function keys(): Promise<ServiceTokenKeys> {
  return (await keysWithJwk()).keys;
}

async function keysWithJwk() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = (await exportJWK(privateKey)) as Record<string, string>;
  return { keys: new ServiceTokenKeys({ privateJwk: jwk, kid: 'svc-test-1' }), jwk };
}

/** A token signed with jose and any header or claims, to probe the verifier's refusals. */
async function craft(
  jwk: Record<string, string>,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = await importJWK(jwk, 'ES256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: SERVICE_TOKEN.typ, kid: 'svc-test-1', ...header })
    .sign(key);
}

const GOOD: JWTPayload = {
  scope: 'ttt:transcribe',
  iss: 'business-engine',
  aud: 'tttranscribe',
  sub: 'u1',
  jti: 'tok_X',
  iat,
  exp: iat + 900,
};

describe('ServiceTokenKeys', () => {
  it('signs tokens that jose verifies against the published JWK Set, as TTTranscribe does', async () => {
    const k = await keys();
    const jti = newTokenId();
    const token = k.sign({
      sub: 'user-1',
      jti,
      scope: SERVICE_TOKEN.scope,
      iat,
      exp: iat + SERVICE_TOKEN.lifetimeSec,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'ttt-service+jwt', kid: 'svc-test-1' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(k.jwks()), {
      algorithms: ['ES256'],
      typ: SERVICE_TOKEN.typ,
      issuer: 'business-engine',
      audience: 'tttranscribe',
      currentDate: new Date(T0 + 1000),
    });
    expect(payload).toEqual({
      scope: 'ttt:transcribe',
      iss: 'business-engine',
      aud: 'tttranscribe',
      sub: 'user-1',
      jti,
      iat,
      exp: iat + 900,
    });
    expect(await k.verify(token, { nowMs: T0 + 1000 })).toEqual({
      sub: 'user-1',
      jti,
      scope: 'ttt:transcribe',
      iat,
      exp: iat + 900,
    });
  });

  it('escapes claims as JSON (a subject with quotes stays one claim)', async () => {
    const k = await keys();
    const token = k.sign({ sub: 'a"b\\c', jti: newTokenId(), scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 });
    expect((await k.verify(token, { nowMs: T0 })).sub).toBe('a"b\\c');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const k = await keys();
    const token = k.sign({ sub: 'user-1', jti: newTokenId(), scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'user-2' })).toString('base64url')}.${s}`;
    expect(await refusal(k.verify(forged, { nowMs: T0 }))).toMatchObject({
      code: 'invalid_token',
      details: { reason: 'signature_invalid' },
    });
  });

  it('signs a different signature each time (ECDSA nonce) and rejects iat/exp that are not whole seconds in order', async () => {
    const k = await keys();
    const claims = { sub: 'u', jti: newTokenId(), scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 };
    expect(k.sign(claims)).not.toBe(k.sign(claims));
    expect(() => k.sign({ ...claims, iat: iat + 0.5 })).toThrow(/whole seconds/);
    expect(() => k.sign({ ...claims, exp: iat })).toThrow(/exp after iat/);
  });

  it('rejects a key that is not a private P-256 JWK when built', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const rsa = (await exportJWK(privateKey)) as Record<string, string>;
    expect(() => new ServiceTokenKeys({ privateJwk: rsa, kid: 'k' })).toThrow(/P-256/);
  });

  describe('refuses, with the errors of jose translated to the catalog', () => {
    it.each([
      [
        'an expired token',
        { ...GOOD, exp: iat - 60 },
        {},
        {
          code: 'token_expired',
          details: { credential: 'service_token', expiredAt: new Date((iat - 60) * 1000).toISOString() },
        },
      ],
      [
        'a token not valid yet',
        { ...GOOD, nbf: iat + 600 },
        {},
        { code: 'token_not_yet_valid', details: { claim: 'nbf' } },
      ],
      [
        'another audience',
        { ...GOOD, aud: 'someone-else' },
        {},
        { code: 'invalid_token_claims', details: { claim: 'aud', reason: 'check_failed' } },
      ],
      [
        'another issuer',
        { ...GOOD, iss: 'someone-else' },
        {},
        { code: 'invalid_token_claims', details: { claim: 'iss', reason: 'check_failed' } },
      ],
      [
        'no jti',
        { ...GOOD, jti: undefined },
        {},
        { code: 'invalid_token_claims', details: { claim: 'jti', reason: 'missing' } },
      ],
      [
        'a user-JWT typ',
        GOOD,
        { typ: 'JWT' },
        { code: 'invalid_token_claims', details: { claim: 'typ', reason: 'check_failed' } },
      ],
      ['another key id', GOOD, { kid: 'other' }, { code: 'invalid_token', details: { reason: 'unknown_key_id' } }],
      [
        'no ttt:transcribe scope',
        { ...GOOD, scope: 'credits:read' },
        {},
        { code: 'insufficient_scope', details: { requiredScope: 'ttt:transcribe' } },
      ],
    ] as const)('%s', async (_name, claims, header, expected) => {
      const { keys: k, jwk } = await keysWithJwk();
      const token = await craft(jwk, claims, header);
      expect(await refusal(k.verify(token, { nowMs: T0 }))).toMatchObject(expected);
    });

    it('a token signed by another key, a truncated signature, an HS256 header and a non-JWT', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const { jwk: otherJwk } = await keysWithJwk();
      const good = await craft(jwk, GOOD);
      expect(await refusal(k.verify(await craft(otherJwk, GOOD), { nowMs: T0 }))).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'signature_invalid' },
      });
      expect(await refusal(k.verify(good.slice(0, -4), { nowMs: T0 }))).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'malformed' },
      });
      const [, payload, signature] = good.split('.');
      const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: SERVICE_TOKEN.typ, kid: 'svc-test-1' })).toString('base64url')}.${payload}.${signature}`;
      expect(await refusal(k.verify(hs, { nowMs: T0 }))).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'algorithm_not_allowed' },
      });
      expect(await refusal(k.verify('not-a-jwt', { nowMs: T0 }))).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'malformed' },
      });
    });

    it('accepts an expired token only when asked to ignore expiry (reading a job status), still checking the signature', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const expired = await craft(jwk, { ...GOOD, exp: iat - 3600 });
      expect((await k.verify(expired, { nowMs: T0, ignoreExpiry: true })).jti).toBe('tok_X');
      const { jwk: otherJwk } = await keysWithJwk();
      expect(
        await refusal(k.verify(await craft(otherJwk, { ...GOOD, exp: iat - 3600 }), { nowMs: T0, ignoreExpiry: true })),
      ).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
    });
  });

  describe('one path for every token (issue 21 item 1)', () => {
    it('verifies the signature of every token, even one this engine signed: a damaged signature is refused', async () => {
      const k = await keys();
      const token = k.sign({
        sub: 'u1',
        jti: newTokenId(),
        scope: SERVICE_TOKEN.scope,
        iat,
        exp: iat + SERVICE_TOKEN.lifetimeSec,
      });
      // One signature character changed (mid-signature, so all 6 bits count).
      const at = token.length - 10;
      const damaged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
      expect(await refusal(k.verify(damaged, { nowMs: T0 }))).toMatchObject({
        code: 'invalid_token',
        details: { reason: 'signature_invalid' },
      });
    });

    it("checks the claims of every token it signed with jose's claim-set validation", async () => {
      const k = await keys();
      const jti = newTokenId();
      const claims = { sub: 'user-1', jti, scope: SERVICE_TOKEN.scope, iat, exp: iat + SERVICE_TOKEN.lifetimeSec };
      const token = k.sign(claims);
      const decode = vi.mocked(UnsecuredJWT.decode);
      decode.mockClear();
      expect(await k.verify(token, { nowMs: T0 + 1000 })).toEqual(claims);
      expect(await k.verify(token, { nowMs: T0 + 2000 })).toEqual(claims);
      expect(decode).toHaveBeenCalledTimes(2);
    });

    it('refuses claims the engine does not sign, with the header bytes it signs with', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const cases: Array<[JWTPayload, Record<string, unknown>]> = [
        [
          { ...GOOD, aud: 'another-service' },
          { code: 'invalid_token_claims', details: { claim: 'aud' } },
        ],
        [
          { ...GOOD, iss: 'another-issuer' },
          { code: 'invalid_token_claims', details: { claim: 'iss' } },
        ],
        [{ ...GOOD, nbf: iat + 600 }, { code: 'token_not_yet_valid' }],
      ];
      for (const [claims, refusal_] of cases) {
        const token = await craft(jwk, claims);
        expect(token.split('.')[0]).toBe(
          k.sign({ sub: 'u1', jti: 'tok_X', scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 }).split('.')[0],
        );
        expect(await refusal(k.verify(token, { nowMs: T0 }))).toMatchObject(refusal_);
      }
    });

    it('accepts a token until the last moment of its tolerance and refuses it as expired after', async () => {
      const k = await keys();
      const jti = newTokenId();
      const exp = iat + SERVICE_TOKEN.lifetimeSec;
      const token = k.sign({ sub: 'user-1', jti, scope: SERVICE_TOKEN.scope, iat, exp });
      const tolerance = SERVICE_TOKEN.clockToleranceSec;
      expect((await k.verify(token, { nowMs: (exp + tolerance - 0.5) * 1000 })).jti).toBe(jti);
      expect(await refusal(k.verify(token, { nowMs: (exp + tolerance) * 1000 }))).toMatchObject({
        code: 'token_expired',
        details: { credential: 'service_token', expiredAt: new Date(exp * 1000).toISOString() },
      });
    });
  });
});

describe('newTokenId', () => {
  it('is the prefix and 26 Crockford base32 characters, time first, so later ids sort later', () => {
    const earlier = newTokenId('tok_', Date.UTC(2026, 11, 6, 6, 0, 0));
    const later = newTokenId('tok_', Date.UTC(2026, 11, 6, 6, 0, 0) + 1);
    expect(earlier).toMatch(/^tok_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(later > earlier).toBe(true);
    expect(earlier.slice(4, 14)).toBe('01M94Z04R0'); // the ULID time of 2026-12-06T06:00:00Z;
    expect(newTokenId('itk_', 0)).toMatch(/^itk_0{10}[0-9A-HJKMNP-TV-Z]{16}$/);
  });

  it('never repeats: 100 000 ids made in the same millisecond are all different', () => {
    const ids = new Set(Array.from({ length: 100_000 }, () => newTokenId('tok_', 1_765_000_000_000)));
    expect(ids.size).toBe(100_000);
  });
});
