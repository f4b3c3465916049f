import type { RequestHandler } from 'express';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ApiError } from '../../shared/errors/api-error.js';
import { credentialShape, readBearerToken } from '../../shared/auth/bearer.js';
import { translateJoseError } from '../../shared/auth/jose-errors.js';
import { describeJwtCredential, setCredential } from '../../shared/observability/credential-context.js';
import { SERVICE_TOKEN } from '../../protocol/service-token.js';

/** The verified claims the job store needs. */
export interface ServiceTokenClaims {
  readonly sub: string;
  readonly jti: string;
  readonly scopes: readonly string[];
  readonly iat: number;
  readonly exp: number;
}

/** The key source failed (JWKS unreachable or unusable): not the caller's fault. */
class KeySourceUnavailable extends Error {
  override readonly name = 'KeySourceUnavailable';
}

const RETRY_AFTER_SEC = 5;
const credential = 'service_token';

function claimsError(claim: string, reason: string, detail: string, extra: Record<string, unknown> = {}): ApiError {
  return new ApiError('invalid_token_claims', detail, { details: { credential, claim, reason, ...extra } });
}

function guardKeySource(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys)
        throw error;
      throw new KeySourceUnavailable('The service token keys (JWKS) could not be loaded.', { cause: error });
    }
  };
}

function enrichInvalidToken(error: ApiError, token: string): ApiError {
  const shape = credentialShape(token);
  if (shape === 'shared_secret') {
    return new ApiError(
      'invalid_token',
      'The bearer value is a TTTranscribe shared secret, not a service token; the secret must be treated as leaked and rotated.',
      {
        details: { ...error.details, received: shape },
        cause: error.cause,
      },
    );
  }
  if (error.details['reason'] === 'algorithm_not_allowed') {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      alg = undefined;
    }
    const hint =
      typeof alg === 'string' && alg.startsWith('HS')
        ? ' (an HMAC token such as a user JWT was sent instead of a service token)'
        : '';
    return new ApiError(
      'invalid_token',
      `Service tokens are ES256; this token uses ${String(alg)}${hint}. Send the token from POST /v1/vend-token.`,
      {
        details: {
          ...error.details,
          algorithm: typeof alg === 'string' ? alg : null,
          allowedAlgorithms: [SERVICE_TOKEN.alg],
        },
        cause: error.cause,
      },
    );
  }
  return error;
}

function checkClaims(payload: JWTPayload): ServiceTokenClaims {
  const { sub, jti, scope, iat, exp } = payload as JWTPayload & { scope?: unknown };
  if (typeof sub !== 'string' || sub === '')
    throw claimsError('sub', 'invalid', "The token's 'sub' claim must be a non-empty user id.");
  if (typeof jti !== 'string' || jti === '' || jti.length > 255) {
    throw claimsError('jti', 'invalid', "The token's 'jti' claim must be a non-empty id (at most 255 characters).");
  }
  if (typeof scope !== 'string')
    throw claimsError('scope', 'invalid', "The token's 'scope' claim must be a space-separated string.");
  if (typeof iat !== 'number' || typeof exp !== 'number')
    throw claimsError('exp', 'invalid', "The token's 'iat' and 'exp' claims must be numbers.");
  if (exp - iat > SERVICE_TOKEN.lifetimeSec) {
    throw claimsError(
      'exp',
      'lifetime_too_long',
      `The token is valid for ${exp - iat} s; service tokens live at most ${SERVICE_TOKEN.lifetimeSec} s.`,
      {
        maxLifetimeSec: SERVICE_TOKEN.lifetimeSec,
      },
    );
  }
  const scopes = scope.split(' ').filter((s) => s !== '');
  if (!scopes.includes(SERVICE_TOKEN.scope)) {
    throw new ApiError('insufficient_scope', `This operation needs the scope '${SERVICE_TOKEN.scope}'.`, {
      details: { credential, requiredScope: SERVICE_TOKEN.scope, grantedScopes: scopes },
    });
  }
  return { sub, jti, scopes, iat, exp };
}

/**
 * Builds the service-token check: jose `jwtVerify` with the algorithm allow-list, `typ`, `iss`, `aud`, required
 * claims and a 30 s clock tolerance, then `sub`, `jti`, lifetime and the `ttt:transcribe` scope. Every failure
 * is the catalog code with details (which claim; expiredAt vs serverTime); a JWKS that cannot be fetched is a
 * 503 `service_unavailable`, since the caller's token may well be fine.
 *
 * @example
 * const verify = createServiceTokenVerifier({ getKey: createRemoteJWKSet(new URL(jwksUrl)), now: Date.now });
 * const claims = await verify(token); // throws ApiError
 */
export function createServiceTokenVerifier(options: {
  getKey: JWTVerifyGetKey;
  now: () => number;
}): (token: string) => Promise<ServiceTokenClaims> {
  const getKey = guardKeySource(options.getKey);
  return async (token) => {
    const nowMs = options.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: [SERVICE_TOKEN.alg],
        typ: SERVICE_TOKEN.typ,
        issuer: SERVICE_TOKEN.issuer,
        audience: SERVICE_TOKEN.audience,
        requiredClaims: ['sub', 'jti', 'scope', 'iat', 'exp'],
        maxTokenAge: SERVICE_TOKEN.lifetimeSec,
        clockTolerance: SERVICE_TOKEN.clockToleranceSec,
        currentDate: new Date(nowMs),
      }));
    } catch (error) {
      if (error instanceof KeySourceUnavailable) {
        throw new ApiError(
          'service_unavailable',
          'The keys that verify service tokens (the Business Engine JWKS) cannot be loaded right now; retry shortly.',
          {
            details: { retryAfterSec: RETRY_AFTER_SEC, reason: 'service_token_keys_unavailable' },
            headers: { 'Retry-After': String(RETRY_AFTER_SEC) },
            cause: error.cause,
          },
        );
      }
      const translated = translateJoseError(error, {
        credential,
        nowMs,
        clockToleranceSec: SERVICE_TOKEN.clockToleranceSec,
      });
      throw translated.code === 'invalid_token' ? enrichInvalidToken(translated, token) : translated;
    }
    return checkClaims(payload);
  };
}

/**
 * The `auth` middleware for operations that take a service token: reads `Authorization: Bearer`, verifies it,
 * and sets `res.locals.serviceToken` (the claims) and `res.locals.subject` (the user id). Before verifying, the
 * token is decoded (not trusted) for the logs: its jti, claimed user, age and expiry.
 *
 * @example
 * auth: [engineAuth({ verifier, bodyLimitBytes }), serviceTokenAuth(verifyServiceToken, now)]
 */
export function serviceTokenAuth(
  verify: (token: string) => Promise<ServiceTokenClaims>,
  now: () => number = Date.now,
): RequestHandler {
  return async (req, res, next) => {
    const token = readBearerToken(req, credential);
    const shape = credentialShape(token);
    setCredential(res, describeJwtCredential(shape === 'jwt' ? credential : shape, token, now()));
    const claims = await verify(token);
    res.locals['serviceToken'] = claims;
    res.locals['subject'] = claims.sub;
    next();
  };
}
