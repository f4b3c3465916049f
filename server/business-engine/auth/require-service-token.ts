import type { RequestHandler } from 'express';
import { readBearerToken } from '../../shared/auth/bearer.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { describeCredential, setCredential } from '../../shared/observability/credential-context.js';
import type { TokenRecord } from '../tokens/token-store.js';
import type { AuthDeps } from './auth-deps.js';
import { classifyBearer, credentialMismatch, noteCredential } from './bearer-kind.js';
import { requestIdOf, setCaller } from './caller.js';

/**
 * Requires a service token this engine issued, verified with its own public key (ES256 signature, then typ, iss,
 * aud, expiry and scope) before anything is forwarded, and still usable by the token table: a refunded token is
 * `service_token_revoked`, one that already submitted a job is `service_token_already_used`. A user JWT gets
 * `service_token_required`. Every token takes the same path: signature, claims, then its record.
 *
 * @example
 * operations.submitTranscription = { auth: [requireServiceToken(authDeps), transcribeLimit], handler };
 */
export function requireServiceToken(deps: AuthDeps): RequestHandler {
  return async (req, res, next) => {
    const token = readBearerToken(req, 'service_token');
    const kind = classifyBearer(token, deps.adminToken);
    // A service token is described from its verified claims below; only a refused one from its unverified claims.
    if (kind !== 'service_token') noteCredential(res, kind, token, deps.now());
    if (kind === 'user_jwt') {
      throw new ApiError(
        'service_token_required',
        'This operation needs a service token from POST /v1/vend-token, not a user JWT.',
        {
          details: { received: 'user_jwt' },
        },
      );
    }
    if (kind === 'opaque') {
      throw new ApiError('invalid_token', 'The service token is not a well-formed JWT.', {
        details: { credential: 'service_token', reason: 'malformed' },
      });
    }
    if (kind !== 'service_token') {
      throw credentialMismatch(kind, 'service_token', {
        logger: deps.logger,
        tttKeys: deps.tttKeys,
        token,
        requestId: requestIdOf(res),
      });
    }
    const nowMs = deps.now();
    const claims = await deps.serviceTokenKeys.verify(token, { nowMs }).catch((error: unknown) => {
      noteCredential(res, kind, token, nowMs);
      throw error;
    });
    setCredential(
      res,
      describeCredential(
        {
          kind,
          id: claims.jti,
          subject: claims.sub,
          issuedAtMs: claims.iat * 1000,
          expiresAtMs: claims.exp * 1000,
        },
        nowMs,
      ),
    );
    const record = await deps.tokens.get(claims.jti);
    if (!record || record.userId !== claims.sub) {
      throw new ApiError('invalid_token', 'This service token is not known to this engine.', {
        details: { credential: 'service_token', reason: 'unknown_token' },
      });
    }
    setCaller(res, { kind: 'service_token', userId: claims.sub, jti: claims.jti, token });
    assertUsable(record);
    next();
  };
}

/**
 * Throws when a token can no longer submit a job. A token that submitted a job (it has a job id, whatever became
 * of its credit since) is `service_token_already_used` with that job id and whether its credit was refunded, so
 * a client that retries finds its job; a token refunded without ever submitting one is `service_token_revoked`.
 * A token in `submitting` passes: its submission is resumed with the key it recorded (see submitTranscription).
 *
 * @example
 * assertUsable(tokens.get(jti)!);
 */
export function assertUsable(record: TokenRecord): void {
  if (record.state === 'vended' || (record.state === 'submitting' && record.jobId === null)) return;
  if (record.state === 'refunded' && record.jobId === null) {
    throw new ApiError('service_token_revoked', "This service token's credit was refunded; it can no longer be used.", {
      details: {
        tokenId: record.jti,
        refundedAt: record.settledAt === null ? null : new Date(record.settledAt).toISOString(),
        reason: record.refundReason,
      },
    });
  }
  throw alreadyUsed(record);
}

/**
 * `service_token_already_used` for a token that submitted its job: the job id (null only for a submission of an
 * engine older than schema 4 that cannot be resumed) and whether the credit was refunded.
 *
 * @example
 * throw alreadyUsed(record);
 */
export function alreadyUsed(record: TokenRecord): ApiError {
  return new ApiError('service_token_already_used', 'This service token already submitted a job.', {
    details: { tokenId: record.jti, jobId: record.jobId, refunded: record.state === 'refunded' },
  });
}
