import { describe, expect, it } from 'vitest';
import { createUserJwtVerifier } from '../../../../server/business-engine/auth/user-jwt-verifier.js';
import { mintUserJwt, TEST_USER_JWT_SECRET } from '../../../helpers/user-tokens.js';
import { refusal } from '../../../helpers/refusal.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const config = { mode: 'hs256' as const, secret: new TextEncoder().encode(TEST_USER_JWT_SECRET) };

describe('createUserJwtVerifier (HS256, frozen clock)', () => {
  it('returns the claims, and the same claims again for a repeat of the token', async () => {
    let now = T0;
    const verify = createUserJwtVerifier(config, { now: () => now });
    const token = await mintUserJwt({ sub: 'cache-user', scope: 'ttt:transcribe credits:read', nowMs: T0 });
    const first = await verify(token);
    now += 60_000;
    expect(await verify(token)).toEqual(first);
    expect(first).toMatchObject({ sub: 'cache-user', scopes: ['ttt:transcribe', 'credits:read'] });
  });

  it('answers token_expired with the real details for a token that expired after it was remembered', async () => {
    let now = T0;
    const verify = createUserJwtVerifier(config, { now: () => now });
    const token = await mintUserJwt({ nowMs: T0, exp: T0 / 1000 + 60 });
    await verify(token);
    now = T0 + 120_000; // 60 s past exp, beyond the 30 s tolerance
    expect(await refusal(verify(token))).toMatchObject({
      code: 'token_expired',
      details: {
        credential: 'user_jwt',
        expiredAt: new Date(T0 + 60_000).toISOString(),
        serverTime: new Date(now).toISOString(),
      },
    });
  });

  it('answers the same for an expired token whether or not caching is on', async () => {
    const token = await mintUserJwt({ nowMs: T0, exp: T0 / 1000 + 60 });
    const late = T0 + 95_000; // 35 s past exp
    for (const cacheSize of [0, 100]) {
      let now = T0;
      const verify = createUserJwtVerifier(config, { now: () => now, cacheSize });
      await verify(token);
      now = late;
      expect(await refusal(verify(token))).toMatchObject({ code: 'token_expired' });
    }
  });

  it('never remembers a refusal: a forged token stays refused after a valid one of the same user', async () => {
    const verify = createUserJwtVerifier(config, { now: () => T0 });
    const good = await mintUserJwt({ sub: 'u-forge', nowMs: T0 });
    await verify(good);
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    expect(await refusal(verify(forged))).toMatchObject({
      code: 'invalid_token',
      details: { reason: 'signature_invalid' },
    });
    expect(await refusal(verify(forged))).toMatchObject({ code: 'invalid_token' });
  });

  it('answers token_not_yet_valid when the frozen clock is moved before the token was issued', async () => {
    let now = T0;
    const verify = createUserJwtVerifier(config, { now: () => now });
    const token = await mintUserJwt({ nowMs: T0 });
    await verify(token);
    now = T0 - 120_000;
    expect(await refusal(verify(token))).toMatchObject({ code: 'token_not_yet_valid', details: { claim: 'iat' } });
  });

  it('refuses a lifetime (exp - iat) over the bound with invalid_token_claims naming exp, and one without iat', async () => {
    const verify = createUserJwtVerifier(config, { now: () => T0 });
    const iat = T0 / 1000;
    for (const exp of [1e20, iat + 24 * 3600 + 1]) {
      expect(await refusal(verify(await mintUserJwt({ nowMs: T0, iat, exp })))).toMatchObject({
        code: 'invalid_token_claims',
        details: { credential: 'user_jwt', claim: 'exp', reason: 'lifetime_too_long', maxLifetimeSec: 24 * 3600 },
      });
    }
    expect((await verify(await mintUserJwt({ nowMs: T0, iat, exp: iat + 24 * 3600 }))).exp).toBe(iat + 24 * 3600);
    // No iat: the lifetime cannot be known, so the token is refused.
    expect(await refusal(verify(await mintUserJwt({ nowMs: T0, iat: null, exp: iat + 60 })))).toMatchObject({
      code: 'invalid_token_claims',
      details: { claim: 'iat' },
    });
  });

  it('takes its bound from maxLifetimeSec, and rejects a bound that is not a positive whole number', async () => {
    const verify = createUserJwtVerifier(config, { now: () => T0, maxLifetimeSec: 600 });
    expect(await refusal(verify(await mintUserJwt({ nowMs: T0, exp: T0 / 1000 + 601 })))).toMatchObject({
      code: 'invalid_token_claims',
      details: { claim: 'exp', maxLifetimeSec: 600 },
    });
    expect(() => createUserJwtVerifier(config, { now: () => T0, maxLifetimeSec: 0 })).toThrow(/maxLifetimeSec/);
  });
});
