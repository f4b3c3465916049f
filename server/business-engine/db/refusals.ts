import { ApiError } from '../../shared/errors/api-error.js';

/** Refusals the stores and the vend and grant rules share, each written once. */

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

/**
 * `insufficient_credits` for a vend when the balance is below the token's price of 1 credit, the same from every
 * storage backend.
 *
 * @example
 * if (balance < 1) throw insufficientCredits(balance);
 */
export function insufficientCredits(balance: number): ApiError {
  return new ApiError('insufficient_credits', `A service token costs 1 credit; the balance is ${balance}.`, {
    details: { balance, required: 1 },
  });
}
