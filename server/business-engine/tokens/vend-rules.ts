import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import type { VendInput, VendOutcome } from '../db/engine-store.js';
import { SigningFailed } from '../db/engine-store.js';
import { idempotencyKeyReused } from '../db/refusals.js';
import { SERVICE_TOKEN } from '../../protocol/service-token.js';
import type { SignServiceToken } from './service-token-keys.js';

type VendTokenResponse = components['schemas']['VendTokenResponse'];

/**
 * What an idempotency key already taken means for a vend, the same for every storage backend: a different body
 * -> idempotency_key_reused; no answer yet -> idempotency_in_progress; else the stored answer, replayed.
 *
 * @example
 * const replay = existing && replayOf(existing, input);
 */
export function replayOf(
  existing: { readonly bodyHash: string; readonly responseJson: string | null },
  input: VendInput,
): VendOutcome {
  if (existing.bodyHash !== input.bodyHash) throw idempotencyKeyReused(input.clientRequestId);
  if (existing.responseJson === null) throw inProgress(input.clientRequestId);
  return { response: JSON.parse(existing.responseJson) as VendTokenResponse, replayed: true };
}

/** idempotency_in_progress for a key another request holds right now. */
export function inProgress(clientRequestId: string): ApiError {
  return new ApiError(
    'idempotency_in_progress',
    `A request with clientRequestId '${clientRequestId}' is still in progress.`,
    {
      details: { clientRequestId },
    },
  );
}

/**
 * Signs a new token for `userId` (inside the vend's transaction, after the charge) and builds the answer to store
 * under the key; a signer that throws becomes {@link SigningFailed}, which rolls the transaction back.
 *
 * @example
 * const signed = signVend(sign, { userId, requestId, jti, nowMs, balanceAfter });
 */
export function signVend(
  sign: SignServiceToken,
  vend: { userId: string; requestId: string; jti: string; nowMs: number; balanceAfter: number },
): { response: VendTokenResponse; issuedAt: number; expiresAt: number } {
  const iat = Math.floor(vend.nowMs / 1000);
  const exp = iat + SERVICE_TOKEN.lifetimeSec;
  let token: string;
  try {
    token = sign({ sub: vend.userId, jti: vend.jti, scope: SERVICE_TOKEN.scope, iat, exp });
  } catch (error) {
    throw new SigningFailed('signing threw', { cause: error });
  }
  const response: VendTokenResponse = {
    ok: true,
    token,
    tokenId: vend.jti,
    expiresIn: SERVICE_TOKEN.lifetimeSec,
    expiresAt: new Date(exp * 1000).toISOString(),
    balanceAfter: vend.balanceAfter,
    requestId: vend.requestId,
  };
  return { response, issuedAt: iat * 1000, expiresAt: exp * 1000 };
}
