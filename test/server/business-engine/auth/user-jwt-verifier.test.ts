import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createUserJwtVerifier, USER_ID } from '../../../../server/business-engine/auth/user-jwt-verifier.js';
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

  it('refuses a sub the spec would not take as a userId (empty, too long, control characters, a lone surrogate)', async () => {
    const verify = createUserJwtVerifier(config, { now: () => T0 });
    for (const sub of ['', 'x'.repeat(129), 'nul\u0000', 'tab\tuser', 'del\u007f', 'lone\ud800', 'low\udc00x']) {
      expect(await refusal(verify(await mintUserJwt({ nowMs: T0, sub })))).toMatchObject({
        code: 'invalid_token_claims',
        details: { credential: 'user_jwt', claim: 'sub', reason: 'invalid' },
      });
    }
    for (const sub of ['x'.repeat(128), 'mobile-user-1', 'émilie@example.com', 'emoji-\u{1f600}']) {
      expect((await verify(await mintUserJwt({ nowMs: T0, sub }))).sub).toBe(sub);
    }
  });

  it('takes the user id rule from the spec: every userId the spec takes has the same bounds and characters', () => {
    const spec = JSON.parse(
      readFileSync(new URL('../../../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
    ) as { components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> } };
    const userIds = Object.entries(spec.components.schemas).flatMap(([name, schema]) =>
      name.endsWith('Request') && schema.properties?.['userId'] ? [schema.properties['userId']] : [],
    );
    expect(userIds).toHaveLength(2); // VendTokenRequest, GrantRequest
    for (const userId of userIds) {
      expect(userId).toMatchObject({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
    }
    // The verifier takes exactly what the spec takes, less lone surrogates (text a database cannot store).
    const spec1 = userIds[0] as { pattern: string; minLength: number; maxLength: number };
    // JSON Schema counts lengths in code points, as the u-flagged USER_ID does.
    const codePoints = (s: string) => s.match(/./gsu)?.length ?? 0;
    const specTakes = (s: string) =>
      new RegExp(spec1.pattern, 'u').test(s) && codePoints(s) >= spec1.minLength && codePoints(s) <= spec1.maxLength;
    const samples = ['', 'a', 'x'.repeat(128), 'x'.repeat(129), 'tab\tx', 'nul\u0000', 'del\u007f', 'é-ü', 'a b'];
    for (const sample of [...samples, 'emoji-\u{1f600}', 'c1\u0085'])
      expect(USER_ID.test(sample), JSON.stringify(sample)).toBe(specTakes(sample));
    expect(USER_ID.test('lone\ud800')).toBe(false);
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
