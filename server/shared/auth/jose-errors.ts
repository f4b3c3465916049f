import { errors as joseErrors } from 'jose';
import { ApiError } from '../errors/api-error.js';
import type { ExpectedCredential } from './bearer.js';

/** What to add to a translated jose error: which credential, the server's clock and the tolerance. */
export interface JoseErrorContext {
  credential: ExpectedCredential;
  nowMs: number;
  clockToleranceSec: number;
}

const iso = (seconds: unknown): string | null =>
  typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null;

/**
 * Translates a jose verification error into its catalog code with details (which claim; expiredAt vs
 * serverTime), keeping the jose error as `cause`. Anything unrecognised is `invalid_token`, never a 500.
 *
 * @example
 * try { await jwtVerify(token, key, options); }
 * catch (error) { throw translateJoseError(error, { credential: 'user_jwt', nowMs: Date.now(), clockToleranceSec: 30 }); }
 */
export function translateJoseError(error: unknown, context: JoseErrorContext): ApiError {
  const serverTime = new Date(context.nowMs).toISOString();
  const base = { credential: context.credential };
  if (error instanceof ApiError) return error;
  if (error instanceof joseErrors.JWTExpired) {
    const expiredAt = iso(error.payload['exp']);
    const ago =
      typeof error.payload['exp'] === 'number' ? Math.round(context.nowMs / 1000 - error.payload['exp']) : null;
    return new ApiError(
      'token_expired',
      ago === null ? 'The token expired.' : `The token expired ${ago} seconds ago.`,
      {
        details: { ...base, expiredAt, serverTime, clockToleranceSec: context.clockToleranceSec },
        cause: error,
      },
    );
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || (error.claim === 'iat' && error.reason === 'check_failed')) {
      const at = iso(error.payload[error.claim]);
      return new ApiError('token_not_yet_valid', `The token is not valid before ${at ?? 'a time in the future'}.`, {
        details: { ...base, claim: error.claim, notBefore: at, serverTime },
        cause: error,
      });
    }
    return new ApiError(
      'invalid_token_claims',
      `The token's '${error.claim}' claim is ${error.reason === 'missing' ? 'missing' : 'not accepted'}.`,
      {
        details: { ...base, claim: error.claim, reason: error.reason },
        cause: error,
      },
    );
  }
  const reason =
    error instanceof joseErrors.JWSSignatureVerificationFailed
      ? 'signature_invalid'
      : error instanceof joseErrors.JOSEAlgNotAllowed
        ? 'algorithm_not_allowed'
        : error instanceof joseErrors.JWKSNoMatchingKey
          ? 'unknown_key_id'
          : error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid
            ? 'malformed'
            : 'unverifiable';
  const detail: Record<string, string> = {
    signature_invalid: "The token's signature does not verify with the configured key.",
    algorithm_not_allowed: "The token's algorithm is not allowed here.",
    unknown_key_id: "The token's key id is not among the issuer's published keys.",
    malformed: 'The token is not a well-formed JWT.',
    unverifiable: 'The token could not be verified.',
  };
  return new ApiError('invalid_token', detail[reason], { details: { ...base, reason }, cause: error });
}
