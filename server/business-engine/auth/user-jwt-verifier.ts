import { webcrypto } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type CryptoKey, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { ApiError } from '../../shared/errors/api-error.js';
import { translateJoseError } from '../../shared/auth/jose-errors.js';
import { USER_JWT_DEFAULT_MAX_LIFETIME_SEC, type UserJwtConfig } from '../config.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** What the engine takes from a verified user JWT. */
export interface UserClaims {
  readonly sub: string;
  readonly scopes: readonly string[];
  readonly iat: number;
  readonly exp: number;
  /** The token's `jti` when it has one (logged as the credential id). */
  readonly jti?: string;
}

export type VerifyUserJwt = (token: string) => Promise<UserClaims>;

/** Clock tolerance for user JWTs: at most 30 s, so an expired session is noticed promptly. */
export const USER_JWT_CLOCK_TOLERANCE_SEC = 30;
// Asymmetric algorithms only: with a JWKS an HS256 token would be verified with a public key as its secret.
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Options of {@link createUserJwtVerifier}. */
export interface UserJwtVerifierOptions {
  readonly now: () => number;
  /**
   * Longest accepted `exp - iat`, seconds (default {@link USER_JWT_DEFAULT_MAX_LIFETIME_SEC}): a token that
   * claims to live longer (an `exp` of 1e20) is refused, so a leaked one cannot be used for ever.
   */
  readonly maxLifetimeSec?: number;
  /** How many verified tokens to remember (0: verify every time). Default 10 000. */
  readonly cacheSize?: number;
}

/**
 * Builds the user JWT verifier: HS256 with USER_JWT_SECRET's raw UTF-8 bytes (never base64-decoded; imported once
 * as a CryptoKey), or an identity provider's JWKS with asymmetric algorithms only; `none` is never accepted.
 * Requires `sub`, `scope`, `iat`, `exp` (and `iss`/`aud` when configured), with a 30 s clock tolerance, and a
 * lifetime `exp - iat` of at most `maxLifetimeSec` (a token without `iat` is refused: its lifetime is unknown). Each
 * failure is its own catalog code with details (claim name; expiredAt vs serverTime).
 *
 * An app sends the same JWT on every call until it expires, so verified tokens are remembered
 * ({@link VerifiedTokenCache}): a repeat is checked against the clock only, and a token outside its validity
 * window is verified in full again, so every refusal has the same code and details as without the cache.
 *
 * @example
 * const verify = createUserJwtVerifier(config.userJwt, { now: Date.now });
 * const { sub, scopes } = await verify(token);
 */
export function createUserJwtVerifier(config: UserJwtConfig, options: UserJwtVerifierOptions): VerifyUserJwt {
  const maxLifetimeSec = options.maxLifetimeSec ?? USER_JWT_DEFAULT_MAX_LIFETIME_SEC;
  if (!Number.isSafeInteger(maxLifetimeSec) || maxLifetimeSec <= 0)
    throw new RangeError('maxLifetimeSec must be a positive whole number of seconds');
  const key: Promise<CryptoKey> | JWTVerifyGetKey =
    config.mode === 'hs256'
      ? webcrypto.subtle.importKey('raw', config.secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      : createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000 });
  if (key instanceof Promise) key.catch(() => undefined); // awaited on use; no unhandled rejection meanwhile
  const base: JWTVerifyOptions = {
    algorithms: config.mode === 'hs256' ? ['HS256'] : ASYMMETRIC,
    requiredClaims: ['sub', 'scope', 'iat', 'exp'],
    clockTolerance: USER_JWT_CLOCK_TOLERANCE_SEC,
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  const cache = new VerifiedTokenCache<UserClaims>({
    max: options.cacheSize ?? 10_000,
    clockToleranceSec: USER_JWT_CLOCK_TOLERANCE_SEC,
    // A JWKS key the identity provider withdraws stops being trusted within this time.
    ...(config.mode === 'jwks' ? { ttlMs: 5 * 60_000 } : {}),
  });

  const verifyFully = async (
    token: string,
    nowMs: number,
  ): Promise<{ claims: UserClaims; nbf: number | undefined }> => {
    const context = { credential: 'user_jwt' as const, nowMs, clockToleranceSec: USER_JWT_CLOCK_TOLERANCE_SEC };
    let payload: Record<string, unknown>;
    try {
      const verifyOptions = { ...base, currentDate: new Date(nowMs) };
      ({ payload } =
        typeof key === 'function'
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, await key, verifyOptions));
    } catch (error) {
      throw translateJoseError(error, context);
    }
    const sub = payload['sub'];
    if (typeof sub !== 'string' || !USER_ID.test(sub))
      throw claimError('sub', 'must be 1-128 characters, none a control character or a lone surrogate');
    const scope = payload['scope'];
    if (typeof scope !== 'string') throw claimError('scope', 'must be a space-separated string');
    const iat = payload['iat'] as number;
    // jose checks iat only together with maxTokenAge; a token issued in the future means the issuer's clock is ahead.
    if (iat > nowMs / 1000 + USER_JWT_CLOCK_TOLERANCE_SEC) {
      throw new ApiError(
        'token_not_yet_valid',
        `The token is not valid before ${new Date(iat * 1000).toISOString()}.`,
        {
          details: {
            credential: 'user_jwt',
            claim: 'iat',
            notBefore: new Date(iat * 1000).toISOString(),
            serverTime: new Date(nowMs).toISOString(),
          },
        },
      );
    }
    const exp = payload['exp'] as number;
    if (exp - iat > maxLifetimeSec) {
      throw new ApiError(
        'invalid_token_claims',
        `The token is valid for ${exp - iat} s from its 'iat'; user JWTs may live at most ${maxLifetimeSec} s: its 'exp' is too far ahead.`,
        {
          details: { credential: 'user_jwt', claim: 'exp', reason: 'lifetime_too_long', maxLifetimeSec },
        },
      );
    }
    const nbf = typeof payload['nbf'] === 'number' ? payload['nbf'] : undefined;
    const jti = typeof payload['jti'] === 'string' ? { jti: payload['jti'] } : {};
    return { claims: { sub, scopes: scope.split(' ').filter((s) => s !== ''), iat, exp, ...jti }, nbf };
  };

  return async (token) => {
    const nowMs = options.now();
    const cached = cache.get(token, nowMs);
    if (cached) return cached;
    const { claims, nbf } = await verifyFully(token, nowMs);
    cache.set(token, claims, { notBefore: Math.max(claims.iat, nbf ?? claims.iat), expiresAt: claims.exp });
    return claims;
  };
}

/**
 * What a user id (a JWT's `sub`) may be: the spec's `userId` (1-128 characters, no control character; checked
 * against it in the verifier's tests) and well-formed text, so it can be stored and compared as such everywhere.
 */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point of this rule
export const USER_ID = /^[^\u0000-\u001f\u007f\p{Cs}]{1,128}$/u;

function claimError(claim: string, rule: string): ApiError {
  return new ApiError('invalid_token_claims', `The token's '${claim}' claim ${rule}.`, {
    details: { credential: 'user_jwt', claim, reason: 'invalid' },
  });
}
