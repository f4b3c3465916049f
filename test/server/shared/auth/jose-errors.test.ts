import { SignJWT, UnsecuredJWT, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { translateJoseError, type JoseErrorContext } from '../../../../server/shared/auth/jose-errors.js';

const key = new TextEncoder().encode('k'.repeat(32));
const otherKey = new TextEncoder().encode('o'.repeat(32));
const nowSec = 1_795_428_000;
const context: JoseErrorContext = { credential: 'user_jwt', nowMs: nowSec * 1000, clockToleranceSec: 30 };

async function failureOf(token: string, options: Parameters<typeof jwtVerify>[2] = {}) {
  try {
    await jwtVerify(token, key, {
      algorithms: ['HS256'],
      currentDate: new Date(nowSec * 1000),
      clockTolerance: 30,
      ...options,
    });
  } catch (error) {
    return translateJoseError(error, context);
  }
  throw new Error('expected verification to fail');
}

const sign = (claims: Record<string, unknown>, signingKey = key) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(signingKey);

describe('translateJoseError', () => {
  it('maps an expired token to token_expired with expiredAt and serverTime', async () => {
    const error = await failureOf(await sign({ sub: 'u', iat: nowSec - 900, exp: nowSec - 42 }));
    expect(error.code).toBe('token_expired');
    expect(error.details).toEqual({
      credential: 'user_jwt',
      expiredAt: new Date((nowSec - 42) * 1000).toISOString(),
      serverTime: new Date(nowSec * 1000).toISOString(),
      clockToleranceSec: 30,
    });
    expect(error.detail).toContain('42 seconds ago');
    expect(error.cause).toBeDefined();
  });

  it('maps nbf in the future to token_not_yet_valid', async () => {
    const error = await failureOf(await sign({ sub: 'u', nbf: nowSec + 600, exp: nowSec + 900 }));
    expect(error.code).toBe('token_not_yet_valid');
    expect(error.details['claim']).toBe('nbf');
  });

  it('maps a wrong audience to invalid_token_claims naming the claim', async () => {
    const error = await failureOf(await sign({ sub: 'u', aud: 'other', exp: nowSec + 60 }), { audience: 'mine' });
    expect(error.code).toBe('invalid_token_claims');
    expect(error.details).toMatchObject({ claim: 'aud', reason: 'check_failed' });
  });

  it('maps a missing required claim to invalid_token_claims with reason missing', async () => {
    const error = await failureOf(await sign({ exp: nowSec + 60 }), { requiredClaims: ['sub'] });
    expect(error).toMatchObject({ code: 'invalid_token_claims', details: { claim: 'sub', reason: 'missing' } });
  });

  it('maps a bad signature, alg none and garbage to invalid_token with a reason', async () => {
    expect((await failureOf(await sign({ sub: 'u', exp: nowSec + 60 }, otherKey))).details['reason']).toBe(
      'signature_invalid',
    );
    const unsecured = new UnsecuredJWT({ sub: 'u' }).encode();
    expect((await failureOf(unsecured)).code).toBe('invalid_token');
    expect((await failureOf('not-a-jwt')).details['reason']).toBe('malformed');
  });

  it('never turns an unknown error into anything but invalid_token', () => {
    expect(translateJoseError(new Error('boom'), context).code).toBe('invalid_token');
  });
});
