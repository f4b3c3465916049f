import { createHash } from 'node:crypto';
import type { Transaction } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import type { CreditLedger } from '../credits/credit-ledger.js';
import type { EngineDatabase } from '../db/engine-database.js';
import { sqliteFailure, withSqlite } from '../db/sqlite-errors.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { newTokenId, SERVICE_TOKEN, serviceTokenDigest, type SignServiceToken } from './service-token-keys.js';
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

interface AbandonedVend {
  readonly userId: string;
  readonly clientRequestId: string;
  readonly jti: string | null;
  readonly reason: string;
  readonly requestId: string | null;
}

type Begin =
  | { kind: 'replay'; response: VendTokenResponse }
  | { kind: 'signed'; response: VendTokenResponse }
  | { kind: 'charged'; jti: string; pending: Promise<string>; exp: number; balanceAfter: number };

/** A synchronous signer's failure, carried out of the transaction it rolled back. */
class SigningFailed extends Error {
  override readonly name = 'SigningFailed';
}

/** A vend waiting for the next group commit. */
interface QueuedVend {
  readonly request: VendRequest;
  readonly bodyHash: string;
  readonly resolve: (begun: Begin) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { readonly ok: true; readonly begun: Begin } | { readonly ok: false; readonly error: unknown };

/**
 * The most vends one group commit takes; more wait for the next one. It bounds how long one commit holds the event
 * loop (a vend's share of a transaction is ~0.1-0.2 ms here) while leaving the batches a loaded engine forms whole.
 */
export const MAX_VENDS_PER_COMMIT = 64;

/**
 * Vends service tokens: in ONE transaction it checks the idempotency key, charges 1 credit (bonus first), records
 * the token, signs it and stores the answer under the key; if signing throws, the transaction rolls back and
 * nothing is charged. With a signer that answers asynchronously the key is taken as in_progress in that
 * transaction, and the answer stored in a second one once signed; if signing fails the charge is refunded and the
 * key released. Either way the user is never charged for a token they did not get.
 *
 * Group commit: the vends that arrive in the same turn of the event loop share one SQLite transaction (up to
 * {@link MAX_VENDS_PER_COMMIT}), each in its own savepoint, so one vend's refusal (insufficient_credits, a reused
 * key, a signer that throws) rolls back only that vend. The commit is most of a vend's database cost, so a loaded
 * engine pays it once per batch; nobody is answered before the commit that holds their vend, and if that commit
 * fails, every vend in it fails and nothing of it was written.
 *
 * @example
 * const { response, replayed } = await vendor.vend({ userId, clientRequestId, body, requestId });
 */
export class TokenVendor {
  private readonly beginTx: Transaction<(request: VendRequest, bodyHash: string) => Begin>;
  private readonly groupTx: Transaction<(batch: readonly QueuedVend[]) => Outcome[]>;
  private readonly abandonTx: Transaction<(key: AbandonedVend) => boolean>;
  private queue: QueuedVend[] = [];

  constructor(
    db: EngineDatabase,
    private readonly deps: {
      ledger: CreditLedger;
      tokens: TokenStore;
      idempotency: IdempotencyStore;
      sign: SignServiceToken;
      now: () => number;
      logger: Logger;
      /** Told how many vends each committed group commit held (e.g. a histogram). */
      onGroupCommit?: (vends: number) => void;
    },
  ) {
    this.beginTx = db.transaction((request: VendRequest, bodyHash: string): Begin => {
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
        return { kind: 'replay', response: JSON.parse(existing.responseJson) as VendTokenResponse };
      }
      const jti = newTokenId();
      const charge = ledger.charge(request.userId, { reason: 'vend_token', requestId: request.requestId, tokenId: jti }, balance);
      const iat = Math.floor(this.deps.now() / 1000);
      const exp = iat + SERVICE_TOKEN.lifetimeSec;
      let signed: string | Promise<string>;
      try {
        signed = this.deps.sign({ sub: request.userId, jti, scope: SERVICE_TOKEN.scope, iat, exp });
      } catch (error) {
        throw new SigningFailed('signing threw', { cause: error });
      }
      tokens.insertIn({
        jti, userId: request.userId, bucket: charge.bucket, chargeEntryId: charge.entryId, requestId: request.requestId,
        issuedAt: iat * 1000, expiresAt: exp * 1000,
        // A token signed later (an asynchronous signer) has no digest and is recognised by its signature alone.
        digest: typeof signed === 'string' ? serviceTokenDigest(signed) : null,
      });
      const key = { userId: request.userId, clientRequestId: request.clientRequestId, bodyHash, tokenJti: jti };
      if (typeof signed === 'string') {
        const response = vendResponse(signed, jti, exp, charge.balanceAfter, request.requestId);
        idempotency.insertDoneIn({ ...key, responseJson: JSON.stringify(response) });
        return { kind: 'signed', response };
      }
      signed.catch(() => undefined); // awaited after the commit; never an unhandled rejection meanwhile
      idempotency.insertIn(key);
      return { kind: 'charged', jti, pending: signed, exp, balanceAfter: charge.balanceAfter };
    });
    // Called inside groupTx, beginTx runs as a savepoint: a vend that throws is rolled back alone.
    this.groupTx = db.transaction((batch: readonly QueuedVend[]): Outcome[] => batch.map((vend): Outcome => {
      try {
        return { ok: true, begun: this.beginTx(vend.request, vend.bodyHash) };
      } catch (error) {
        // SQLite itself rolled the whole transaction back (e.g. SQLITE_FULL): the batch fails as one.
        if (!db.inTransaction) throw error;
        return { ok: false, error };
      }
    }));
    this.abandonTx = db.transaction((key: AbandonedVend) => {
      const refunded = key.jti === null ? false : this.deps.tokens.refund(key.jti, 'vended', { reason: key.reason, requestId: key.requestId });
      this.deps.idempotency.removeIn(key.userId, key.clientRequestId);
      return refunded;
    });
  }

  async vend(request: VendRequest): Promise<VendResult> {
    let begun: Begin;
    try {
      begun = await this.begin(request);
    } catch (error) {
      if (!(error instanceof SigningFailed)) throw error;
      this.deps.logger.error({ err: error.cause, requestId: request.requestId }, 'service token signing failed; nothing was charged');
      throw new ApiError('internal_error', 'The service token could not be signed; nothing was charged.', { cause: error.cause });
    }
    if (begun.kind === 'replay') return { response: begun.response, replayed: true };
    if (begun.kind === 'signed') return { response: begun.response, replayed: false };
    let token: string;
    try {
      token = await begun.pending;
    } catch (error) {
      withSqlite('refund the failed vend', () => this.abandonTx.immediate({
        userId: request.userId, clientRequestId: request.clientRequestId, jti: begun.jti, reason: 'vend_failed', requestId: request.requestId,
      }));
      this.deps.logger.error({ err: error, tokenId: begun.jti, requestId: request.requestId }, 'service token signing failed; credit refunded');
      throw new ApiError('internal_error', 'The service token could not be signed; nothing was charged.', { cause: error });
    }
    const response = vendResponse(token, begun.jti, begun.exp, begun.balanceAfter, request.requestId);
    if (!this.deps.idempotency.complete(request.userId, request.clientRequestId, begun.jti, JSON.stringify(response))) {
      // The sweep gave up on this vend and refunded it: the token is revoked, so do not hand it out.
      this.deps.logger.warn({ tokenId: begun.jti, requestId: request.requestId }, 'vend finished after the sweep refunded it');
      throw new ApiError('internal_error', 'The vend was interrupted and refunded; nothing was charged. Retry with the same clientRequestId.');
    }
    return { response, replayed: false };
  }

  /** Queues the vend's transaction for the next group commit (see the class). */
  private begin(request: VendRequest): Promise<Begin> {
    return new Promise<Begin>((resolve, reject) => {
      this.queue.push({ request, bodyHash: canonicalHash(request.body), resolve, reject });
      if (this.queue.length === 1) setImmediate(this.commitQueued);
    });
  }

  private readonly commitQueued = (): void => {
    const batch = this.queue.splice(0, MAX_VENDS_PER_COMMIT);
    if (this.queue.length > 0) setImmediate(this.commitQueued);
    let outcomes: Outcome[];
    try {
      outcomes = withSqlite('charge the credit', () => this.groupTx.immediate(batch));
    } catch (error) {
      for (const vend of batch) vend.reject(error);
      return;
    }
    this.deps.onGroupCommit?.(batch.length);
    batch.forEach((vend, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) vend.resolve(outcome.begun);
      else vend.reject(outcome.error instanceof SigningFailed ? outcome.error : sqliteFailure('charge the credit', outcome.error));
    });
  };

  /**
   * Refunds vends interrupted between the charge and the answer (a crash, or a signer that never returned): keys
   * still in progress taken at or before `before` (ms). Their keys are released so the client can retry.
   */
  abandonStale(before: number, limit: number, requestId: string | null = null): number {
    let refunded = 0;
    for (const key of this.deps.idempotency.stale(before, limit)) {
      const done = withSqlite('refund an interrupted vend', () => this.abandonTx.immediate({
        userId: key.userId, clientRequestId: key.clientRequestId, jti: key.tokenJti, reason: 'vend_interrupted', requestId,
      }));
      if (done) refunded += 1;
    }
    return refunded;
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
