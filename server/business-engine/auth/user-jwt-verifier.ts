import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { ApiError } from '../../shared/errors/api-error.js';
import { translateJoseError } from '../../shared/auth/jose-errors.js';
import type { UserJwtConfig } from '../config.js';

/** What the engine takes from a verified user JWT. */
export interface UserClaims {
  readonly sub: string;
  readonly scopes: readonly string[];
  readonly iat: number;
  readonly exp: number;
}

export type VerifyUserJwt = (token: string) => Promise<UserClaims>;

/** Clock tolerance for user JWTs: at most 30 s, so an expired session is noticed promptly. */
export const USER_JWT_CLOCK_TOLERANCE_SEC = 30;
// Asymmetric algorithms only: with a JWKS an HS256 token would be verified with a public key as its secret.
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Builds the user JWT verifier: HS256 with USER_JWT_SECRET's raw UTF-8 bytes (never base64-decoded), or an
 * identity provider's JWKS with asymmetric algorithms only; `none` is never accepted. Requires `sub`, `scope`,
 * `iat`, `exp` (and `iss`/`aud` when configured), with a 30 s clock tolerance. Each failure is its own catalog
 * code with details (claim name; expiredAt vs serverTime).
 *
 * @example
 * const verify = createUserJwtVerifier(config.userJwt, { now: Date.now });
 * const { sub, scopes } = await verify(token);
 */
export function createUserJwtVerifier(config: UserJwtConfig, options: { now: () => number }): VerifyUserJwt {
  const key: Uint8Array | JWTVerifyGetKey = config.mode === 'hs256' ? config.secret : createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: 5000 });
  const base: JWTVerifyOptions = {
    algorithms: config.mode === 'hs256' ? ['HS256'] : ASYMMETRIC,
    requiredClaims: ['sub', 'scope', 'iat', 'exp'],
    clockTolerance: USER_JWT_CLOCK_TOLERANCE_SEC,
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  return async (token) => {
    const nowMs = options.now();
    const context = { credential: 'user_jwt' as const, nowMs, clockToleranceSec: USER_JWT_CLOCK_TOLERANCE_SEC };
    let payload: Record<string, unknown>;
    try {
      const verifyOptions = { ...base, currentDate: new Date(nowMs) };
      ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions));
    } catch (error) {
      throw translateJoseError(error, context);
    }
    const sub = payload['sub'];
    if (typeof sub !== 'string' || sub === '' || sub.length > 128) throw claimError('sub', 'must be a non-empty string of at most 128 characters');
    const scope = payload['scope'];
    if (typeof scope !== 'string') throw claimError('scope', 'must be a space-separated string');
    const iat = payload['iat'] as number;
    // jose checks iat only together with maxTokenAge; a token issued in the future means the issuer's clock is ahead.
    if (iat > nowMs / 1000 + USER_JWT_CLOCK_TOLERANCE_SEC) {
      throw new ApiError('token_not_yet_valid', `The token is not valid before ${new Date(iat * 1000).toISOString()}.`, {
        details: { credential: 'user_jwt', claim: 'iat', notBefore: new Date(iat * 1000).toISOString(), serverTime: new Date(nowMs).toISOString() },
      });
    }
    return { sub, scopes: scope.split(' ').filter((s) => s !== ''), iat, exp: payload['exp'] as number };
  };
}

function claimError(claim: string, rule: string): ApiError {
  return new ApiError('invalid_token_claims', `The token's '${claim}' claim ${rule}.`, {
    details: { credential: 'user_jwt', claim, reason: 'invalid' },
  });
}
