import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { newTokenId, SERVICE_TOKEN, ServiceTokenKeys } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const iat = T0 / 1000;

async function keys(): Promise<ServiceTokenKeys> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return new ServiceTokenKeys({ privateJwk: jwk as Record<string, string>, kid: 'svc-test-1' });
}

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
    const error = await k.verify(forged, { nowMs: T0 }).catch((e: unknown) => e);
    expect(isApiError(error) && error.code).toBe('invalid_token');
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
});
