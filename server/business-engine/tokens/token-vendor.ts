import { createHash } from 'node:crypto';
import type { Transaction } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import type { CreditLedger } from '../credits/credit-ledger.js';
import type { EngineDatabase } from '../db/engine-database.js';
import { sqliteFailure } from '../db/sqlite-errors.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { newTokenId, SERVICE_TOKEN, type SignServiceToken } from './service-token-keys.js';
import type { TokenStore } from './token-store.js';

type VendTokenResponse = components['schemas']['VendTokenResponse'];

/** One vend request, after authentication and validation. */
export interface VendRequest {
  readonly userId: string;
  readonly clientRequestId: string;
  /** The validated body; its canonical hash decides "same body" for idempotency. */
  readonly body: { readonly userId?: string; readonly clientRequestId: string };
  readonly requestId: string;
}

export interface VendResult {
  readonly response: VendTokenResponse;
  /** True when this is the stored answer of an earlier request with the same key and body. */
  readonly replayed: boolean;
}

/** A signer's failure, carried out of the transaction it rolled back. */
class SigningFailed extends Error {
  override readonly name = 'SigningFailed';
}

/**
 * Vends service tokens: in ONE transaction it checks the idempotency key, charges 1 credit (bonus first), records
 * the token, signs it and stores the answer under the key. If anything throws (insufficient_credits, a reused key,
 * the signer), the transaction rolls back and nothing is charged: the user is never charged for a token they did
 * not get, and a key is never taken without its answer.
 *
 * @example
 * const { response, replayed } = await vendor.vend({ userId, clientRequestId, body, requestId });
 */
export class TokenVendor {
  private readonly vendTx: Transaction<(request: VendRequest, bodyHash: string) => VendResult>;

  constructor(
    db: EngineDatabase,
    private readonly deps: {
      ledger: CreditLedger;
      tokens: TokenStore;
      idempotency: IdempotencyStore;
      sign: SignServiceToken;
      now: () => number;
      logger: Logger;
    },
  ) {
    this.vendTx = db.transaction((request: VendRequest, bodyHash: string): VendResult => {
      const { ledger, tokens, idempotency } = this.deps;
      const balance = ledger.ensureUserIn(request.userId, request.requestId);
      const existing = idempotency.findIn(request.userId, request.clientRequestId);
      if (existing) {
        const details = { clientRequestId: request.clientRequestId };
        if (existing.bodyHash !== bodyHash) {
          throw new ApiError('idempotency_key_reused', `clientRequestId '${request.clientRequestId}' was first used with a different body.`, { details });
        }
        if (existing.state === 'in_progress' || existing.responseJson === null) {
          throw new ApiError('idempotency_in_progress', `A request with clientRequestId '${request.clientRequestId}' is still in progress.`, { details });
        }
        return { response: JSON.parse(existing.responseJson) as VendTokenResponse, replayed: true };
      }
      const jti = newTokenId();
      const charge = ledger.charge(request.userId, { reason: 'vend_token', requestId: request.requestId, tokenId: jti }, balance);
      const iat = Math.floor(this.deps.now() / 1000);
      const exp = iat + SERVICE_TOKEN.lifetimeSec;
      let signed: string;
      try {
        signed = this.deps.sign({ sub: request.userId, jti, scope: SERVICE_TOKEN.scope, iat, exp });
      } catch (error) {
        throw new SigningFailed('signing threw', { cause: error });
      }
      tokens.insertIn({
        jti, userId: request.userId, bucket: charge.bucket, chargeEntryId: charge.entryId, requestId: request.requestId,
        issuedAt: iat * 1000, expiresAt: exp * 1000,
      });
      const response = vendResponse(signed, jti, exp, charge.balanceAfter, request.requestId);
      idempotency.insertDoneIn({
        userId: request.userId, clientRequestId: request.clientRequestId, bodyHash, tokenJti: jti, responseJson: JSON.stringify(response),
      });
      return { response, replayed: false };
    });
  }

  async vend(request: VendRequest): Promise<VendResult> {
    try {
      return this.vendTx.immediate(request, canonicalHash(request.body));
    } catch (error) {
      if (!(error instanceof SigningFailed)) throw sqliteFailure('charge the credit', error);
      this.deps.logger.error({ err: error.cause, requestId: request.requestId }, 'service token signing failed; nothing was charged');
      throw new ApiError('internal_error', 'The service token could not be signed; nothing was charged.', { cause: error.cause });
    }
  }
}

function vendResponse(token: string, jti: string, exp: number, balanceAfter: number, requestId: string): VendTokenResponse {
  return {
    ok: true,
    token,
    tokenId: jti,
    expiresIn: SERVICE_TOKEN.lifetimeSec,
    expiresAt: new Date(exp * 1000).toISOString(),
    balanceAfter,
    requestId,
  };
}

/**
 * SHA-256 of the body with sorted keys, so key order and whitespace do not make a "different body".
 *
 * @example
 * canonicalHash({ userId: 'u1', clientRequestId: 'k' }) === canonicalHash({ clientRequestId: 'k', userId: 'u1' }); // true
 */
export function canonicalHash(body: Readonly<Record<string, unknown>>): string {
  const sorted = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}
