import { ApiError } from '../../shared/errors/api-error.js';

/**
 * `idempotency_key_reused`: a clientRequestId sent again with another body, the same answer for a vend and a grant.
 *
 * @example
 * if (stored.bodyHash !== bodyHash) throw idempotencyKeyReused(clientRequestId);
 */
export function idempotencyKeyReused(clientRequestId: string): ApiError {
  return new ApiError(
    'idempotency_key_reused',
    `clientRequestId '${clientRequestId}' was first used with a different body.`,
    {
      details: { clientRequestId },
    },
  );
}
