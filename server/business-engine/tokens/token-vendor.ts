import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../../shared/errors/api-error.js';
import { SigningFailed, type EngineStore, type VendOutcome } from '../db/engine-store.js';
import type { SignServiceToken } from './service-token-keys.js';

/** One vend request, after authentication and validation. */
export interface VendRequest {
  readonly userId: string;
  readonly clientRequestId: string;
  /** The validated body; its canonical hash decides "same body" for idempotency. */
  readonly body: { readonly userId?: string; readonly clientRequestId: string };
  readonly requestId: string;
}

export type VendResult = VendOutcome;

/**
 * Vends service tokens: ONE store transaction per vend checks the idempotency key, charges 1 credit (bonus first),
 * records the token, signs it and stores the answer under the key ({@link EngineStore.vend}). If anything throws
 * (insufficient_credits, a reused key, the signer), the transaction rolls back and nothing is charged: the user is
 * never charged for a token they did not get, and a key is never taken without its answer.
 *
 * @example
 * const { response, replayed } = await vendor.vend({ userId, clientRequestId, body, requestId });
 */
export class TokenVendor {
  constructor(private readonly deps: { store: EngineStore; sign: SignServiceToken; logger: Logger }) {}

  async vend(request: VendRequest): Promise<VendResult> {
    const input = {
      userId: request.userId,
      clientRequestId: request.clientRequestId,
      bodyHash: canonicalHash(request.body),
      requestId: request.requestId,
    };
    try {
      return await this.deps.store.vend(input, this.deps.sign);
    } catch (error) {
      if (!(error instanceof SigningFailed)) throw error;
      this.deps.logger.error(
        { err: error.cause, requestId: request.requestId },
        'service token signing failed; nothing was charged',
      );
      throw new ApiError('internal_error', 'The service token could not be signed; nothing was charged.', {
        cause: error.cause,
      });
    }
  }
}

/**
 * SHA-256 of the body with sorted keys, so key order and whitespace do not make a "different body".
 *
 * @example
 * canonicalHash({ userId: 'u1', clientRequestId: 'k' }) === canonicalHash({ clientRequestId: 'k', userId: 'u1' }); // true
 */
export function canonicalHash(body: Readonly<Record<string, unknown>>): string {
  const sorted = Object.fromEntries(
    Object.entries(body)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}
