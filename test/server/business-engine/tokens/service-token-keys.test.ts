import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { newTokenId, SERVICE_TOKEN, serviceTokenDigest, ServiceTokenKeys } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { refusal } from '../../../helpers/refusal.js';

// jose as it is, with UnsecuredJWT.decode (the claims check of the full path) watched, to tell the two paths apart.
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>();
  const decode = vi.fn((...args: Parameters<typeof jose.UnsecuredJWT.decode>) => jose.UnsecuredJWT.decode(...args));
  return { ...jose, UnsecuredJWT: Object.assign(Object.create(jose.UnsecuredJWT) as typeof jose.UnsecuredJWT, { decode }) };
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
async function craft(jwk: Record<string, string>, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = await importJWK(jwk, 'ES256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: SERVICE_TOKEN.typ, kid: 'svc-test-1', ...header }).sign(key);
}

const GOOD: JWTPayload = { scope: 'ttt:transcribe', iss: 'business-engine', aud: 'tttranscribe', sub: 'u1', jti: 'tok_X', iat, exp: iat + 900 };


describe('ServiceTokenKeys', () => {
  it('signs tokens that jose verifies against the published JWK Set, as TTTranscribe does', async () => {
    const k = await keys();
    const jti = newTokenId();
    const token = await k.sign({ sub: 'user-1', jti, scope: SERVICE_TOKEN.scope, iat, exp: iat + SERVICE_TOKEN.lifetimeSec });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'ttt-service+jwt', kid: 'svc-test-1' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(k.jwks()), {
      algorithms: ['ES256'], typ: SERVICE_TOKEN.typ, issuer: 'business-engine', audience: 'tttranscribe', currentDate: new Date(T0 + 1000),
    });
    expect(payload).toEqual({ scope: 'ttt:transcribe', iss: 'business-engine', aud: 'tttranscribe', sub: 'user-1', jti, iat, exp: iat + 900 });
    expect(await k.verify(token, { nowMs: T0 + 1000 })).toEqual({ sub: 'user-1', jti, scope: 'ttt:transcribe', iat, exp: iat + 900 });
  });

  it('escapes claims as JSON (a subject with quotes stays one claim)', async () => {
    const k = await keys();
    const token = await k.sign({ sub: 'a"b\\c', jti: newTokenId(), scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 });
    expect((await k.verify(token, { nowMs: T0 })).sub).toBe('a"b\\c');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const k = await keys();
    const token = await k.sign({ sub: 'user-1', jti: newTokenId(), scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'user-2' })).toString('base64url')}.${s}`;
    expect(await refusal(k.verify(forged, { nowMs: T0 }))).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
  });

  it('signs a different signature each time (ECDSA nonce) and rejects iat/exp that are not whole seconds in order', async () => {
    const k = await keys();
    const claims = { sub: 'u', jti: newTokenId(), scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 };
    expect(await k.sign(claims)).not.toBe(await k.sign(claims));
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
      ['an expired token', { ...GOOD, exp: iat - 60 }, {}, { code: 'token_expired', details: { credential: 'service_token', expiredAt: new Date((iat - 60) * 1000).toISOString() } }],
      ['a token not valid yet', { ...GOOD, nbf: iat + 600 }, {}, { code: 'token_not_yet_valid', details: { claim: 'nbf' } }],
      ['another audience', { ...GOOD, aud: 'someone-else' }, {}, { code: 'invalid_token_claims', details: { claim: 'aud', reason: 'check_failed' } }],
      ['another issuer', { ...GOOD, iss: 'someone-else' }, {}, { code: 'invalid_token_claims', details: { claim: 'iss', reason: 'check_failed' } }],
      ['no jti', { ...GOOD, jti: undefined }, {}, { code: 'invalid_token_claims', details: { claim: 'jti', reason: 'missing' } }],
      ['a user-JWT typ', GOOD, { typ: 'JWT' }, { code: 'invalid_token_claims', details: { claim: 'typ', reason: 'check_failed' } }],
      ['another key id', GOOD, { kid: 'other' }, { code: 'invalid_token', details: { reason: 'unknown_key_id' } }],
      ['no ttt:transcribe scope', { ...GOOD, scope: 'credits:read' }, {}, { code: 'insufficient_scope', details: { requiredScope: 'ttt:transcribe' } }],
    ] as const)('%s', async (_name, claims, header, expected) => {
      const { keys: k, jwk } = await keysWithJwk();
      const token = await craft(jwk, claims as JWTPayload, header);
      expect(await refusal(k.verify(token, { nowMs: T0 }))).toMatchObject(expected);
    });

    it('a token signed by another key, a truncated signature, an HS256 header and a non-JWT', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const { jwk: otherJwk } = await keysWithJwk();
      const good = await craft(jwk, GOOD);
      expect(await refusal(k.verify(await craft(otherJwk, GOOD), { nowMs: T0 }))).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
      expect(await refusal(k.verify(good.slice(0, -4), { nowMs: T0 }))).toMatchObject({ code: 'invalid_token', details: { reason: 'malformed' } });
      const [, payload, signature] = good.split('.');
      const hs = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: SERVICE_TOKEN.typ, kid: 'svc-test-1' })).toString('base64url')}.${payload}.${signature}`;
      expect(await refusal(k.verify(hs, { nowMs: T0 }))).toMatchObject({ code: 'invalid_token', details: { reason: 'algorithm_not_allowed' } });
      expect(await refusal(k.verify('not-a-jwt', { nowMs: T0 }))).toMatchObject({ code: 'invalid_token', details: { reason: 'malformed' } });
    });

    it('accepts an expired token only when asked to ignore expiry (reading a job status), still checking the signature', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const expired = await craft(jwk, { ...GOOD, exp: iat - 3600 });
      expect((await k.verify(expired, { nowMs: T0, ignoreExpiry: true })).jti).toBe('tok_X');
      const { jwk: otherJwk } = await keysWithJwk();
      expect(await refusal(k.verify(await craft(otherJwk, { ...GOOD, exp: iat - 3600 }), { nowMs: T0, ignoreExpiry: true })))
        .toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
    });
  });

  describe('with the digest the engine recorded when it signed the token', () => {
    /** A lookup that knows one jti, and counts how often it is asked. */
    const recorded = (jti: string, digest: Uint8Array | null) => {
      const asked: string[] = [];
      return { asked, lookup: (id: string) => (asked.push(id), id === jti ? digest : undefined) };
    };

    it('takes a token identical to the recorded one without the ECDSA math: even a damaged signature is not read', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const token = await craft(jwk, GOOD);
      // The same token with one signature character changed (mid-signature, so all 6 bits count): a full
      // verification refuses it...
      const at = token.length - 10;
      const damaged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
      expect(await refusal(k.verify(damaged, { nowMs: T0 }))).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
      // ...while a token whose digest is the recorded one is trusted as the engine's own, so its signature is never checked.
      const { asked, lookup } = recorded('tok_X', serviceTokenDigest(damaged));
      expect(await k.verify(damaged, { nowMs: T0, recordedDigest: lookup })).toMatchObject({ sub: 'u1', jti: 'tok_X' });
      expect(asked).toEqual(['tok_X']);
    });

    it('still checks the clock, the header and the scope of a recorded token', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const expired = await craft(jwk, { ...GOOD, exp: iat - 60 });
      expect(await refusal(k.verify(expired, { nowMs: T0, recordedDigest: recorded('tok_X', serviceTokenDigest(expired)).lookup })))
        .toMatchObject({ code: 'token_expired', details: { credential: 'service_token' } });
      expect((await k.verify(expired, { nowMs: T0, ignoreExpiry: true, recordedDigest: recorded('tok_X', serviceTokenDigest(expired)).lookup })).jti).toBe('tok_X');
      const otherKid = await craft(jwk, GOOD, { kid: 'rotated-away' });
      expect(await refusal(k.verify(otherKid, { nowMs: T0, recordedDigest: recorded('tok_X', serviceTokenDigest(otherKid)).lookup })))
        .toMatchObject({ code: 'invalid_token', details: { reason: 'unknown_key_id' } });
      const noScope = await craft(jwk, { ...GOOD, scope: 'credits:read' });
      expect(await refusal(k.verify(noScope, { nowMs: T0, recordedDigest: recorded('tok_X', serviceTokenDigest(noScope)).lookup })))
        .toMatchObject({ code: 'insufficient_scope' });
    });

    it('verifies the signature in full when the digest differs, is missing, or the jti is unknown', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const { jwk: otherJwk } = await keysWithJwk();
      const genuine = await craft(jwk, GOOD);
      const forged = await craft(otherJwk, GOOD); // same kid and claims, another key: only the signature tells
      for (const lookup of [
        recorded('tok_X', serviceTokenDigest(genuine)).lookup, // the genuine token's digest, not the forgery's
        recorded('tok_X', null).lookup, // a token signed after its vend (no digest)
        recorded('tok_other', serviceTokenDigest(forged)).lookup, // the forgery's digest under another jti
        () => Buffer.alloc(16), // not a SHA-256
      ]) {
        expect(await refusal(k.verify(forged, { nowMs: T0, recordedDigest: lookup })))
          .toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
        expect((await k.verify(genuine, { nowMs: T0, recordedDigest: lookup })).jti).toBe('tok_X');
      }
    });

    it("answers a token it signed and recorded from that token's own claims, without jose's claims check", async () => {
      const k = await keys();
      const jti = newTokenId();
      const claims = { sub: 'user-1', jti, scope: SERVICE_TOKEN.scope, iat, exp: iat + SERVICE_TOKEN.lifetimeSec };
      const token = k.sign(claims);
      const decode = vi.mocked(UnsecuredJWT.decode);
      decode.mockClear();
      const { asked, lookup } = recorded(jti, serviceTokenDigest(token));
      expect(await k.verify(token, { nowMs: T0 + 1000, recordedDigest: lookup })).toEqual(claims);
      expect(asked).toEqual([jti]);
      expect(decode).not.toHaveBeenCalled();
      // The same token without a record goes the full way, claims check included.
      expect(await k.verify(token, { nowMs: T0 + 1000 })).toEqual(claims);
      expect(decode).toHaveBeenCalledTimes(1);
    });

    it('leaves a recorded token with claims the engine does not sign today to jose, which refuses them as before', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const cases: Array<[JWTPayload, Record<string, unknown>]> = [
        [{ ...GOOD, aud: 'another-service' }, { code: 'invalid_token_claims', details: { claim: 'aud' } }],
        [{ ...GOOD, iss: 'another-issuer' }, { code: 'invalid_token_claims', details: { claim: 'iss' } }],
        [{ ...GOOD, nbf: iat + 600 }, { code: 'token_not_yet_valid' }],
      ];
      for (const [claims, refusal_] of cases) {
        const token = await craft(jwk, claims); // the engine's header bytes: only the claims differ
        expect(token.split('.')[0]).toBe(k.sign({ sub: 'u1', jti: 'tok_X', scope: SERVICE_TOKEN.scope, iat, exp: iat + 900 }).split('.')[0]);
        expect(await refusal(k.verify(token, { nowMs: T0, recordedDigest: recorded('tok_X', serviceTokenDigest(token)).lookup }))).toMatchObject(refusal_);
      }
    });

    it('asks for the record once even when the token then goes the full way', async () => {
      const { keys: k, jwk } = await keysWithJwk();
      const { jwk: otherJwk } = await keysWithJwk();
      const genuine = await craft(jwk, GOOD);
      const forged = await craft(otherJwk, GOOD);
      const { asked, lookup } = recorded('tok_X', serviceTokenDigest(genuine));
      expect(await refusal(k.verify(forged, { nowMs: T0, recordedDigest: lookup }))).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
      expect(asked).toEqual(['tok_X']);
    });

    it('leaves a recorded token near an edge of its validity window to the full checks, which refuse it once expired', async () => {
      const k = await keys();
      const jti = newTokenId();
      const exp = iat + SERVICE_TOKEN.lifetimeSec;
      const token = k.sign({ sub: 'user-1', jti, scope: SERVICE_TOKEN.scope, iat, exp });
      const tolerance = SERVICE_TOKEN.clockToleranceSec;
      const lastMoment = recorded(jti, serviceTokenDigest(token));
      expect((await k.verify(token, { nowMs: (exp + tolerance - 0.5) * 1000, recordedDigest: lastMoment.lookup })).jti).toBe(jti);
      expect(lastMoment.asked).toEqual([jti]);
      const tooLate = recorded(jti, serviceTokenDigest(token));
      expect(await refusal(k.verify(token, { nowMs: (exp + tolerance) * 1000, recordedDigest: tooLate.lookup })))
        .toMatchObject({ code: 'token_expired', details: { credential: 'service_token', expiredAt: new Date(exp * 1000).toISOString() } });
      expect(tooLate.asked).toEqual([jti]);
    });

    it('never asks for a record when the token is not even a well-formed JWS of this engine', async () => {
      const { keys: k } = await keysWithJwk();
      const { asked, lookup } = recorded('tok_X', null);
      expect(await refusal(k.verify('not-a-jwt', { nowMs: T0, recordedDigest: lookup }))).toMatchObject({ code: 'invalid_token', details: { reason: 'malformed' } });
      expect(asked).toEqual([]);
    });
  });
});
