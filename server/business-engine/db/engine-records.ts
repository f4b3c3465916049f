/*
 * The records the engine stores, in one place below every store: the store interface (engine-store.ts), the SQLite
 * stores (credits/, tokens/, integrations/) and the PostgreSQL store (store/) all speak these, so db/ depends on none
 * of them.
 */

export type Bucket = 'main' | 'bonus';
export type LedgerKind = 'grant' | 'charge' | 'refund';

/** A user's credits. */
export interface Balance {
  readonly userId: string;
  readonly main: number;
  readonly bonus: number;
  readonly balance: number;
  readonly updatedAt: number;
}

/** One row of the append-only ledger (times in ms). */
export interface LedgerRow {
  readonly id: number;
  readonly userId: string;
  readonly kind: LedgerKind;
  readonly bucket: Bucket;
  readonly amount: number;
  readonly balanceAfter: number;
  readonly reason: string;
  readonly requestId: string | null;
  readonly jobId: string | null;
  readonly tokenId: string | null;
  readonly createdAt: number;
}

/** Where a ledger entry came from: the request, and the token or job it concerns. */
export interface EntryContext {
  readonly reason: string;
  readonly requestId?: string | null;
  readonly tokenId?: string | null;
  readonly jobId?: string | null;
}

/**
 * A service token's life: vended (charged) -> submitting (claimed by one submission) -> submitted (job id known)
 * -> consumed (job completed) | refunded (submission failed not by the caller, job failed, or expired unused).
 */
export type TokenState = 'vended' | 'submitting' | 'submitted' | 'consumed' | 'refunded';

/** A vended service token as the engine tracks it (times in ms). */
export interface TokenRecord {
  readonly jti: string;
  readonly userId: string;
  readonly state: TokenState;
  readonly bucket: Bucket;
  readonly chargeEntryId: number;
  readonly requestId: string | null;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly jobId: string | null;
  readonly submittedAt: number | null;
  readonly settledAt: number | null;
  readonly refundReason: string | null;
  /** The token's last change (ms). */
  readonly updatedAt: number;
  /**
   * The Idempotency-Key this token's submission sends to TTTranscribe, recorded when the token is claimed and
   * before anything is forwarded (null: never claimed, or claimed by an engine older than schema 4).
   */
  readonly submissionKey: string | null;
}

/** What a refund says about itself in the ledger. */
export interface RefundContext {
  readonly reason: string;
  readonly requestId: string | null;
  /**
   * Refund only if the token's last change is still this one (ms): the sweep's refund of an interrupted submission
   * must not win over a resubmission that resumed it meanwhile.
   */
  readonly unchangedSince?: number;
}

/** An integration token as stored (times in ms); never the token itself. */
export interface IntegrationTokenRecord {
  readonly id: string;
  readonly userId: string;
  readonly description: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** Where a page of a user's tokens starts: just after (older than) this token. */
export interface IntegrationTokenPosition {
  readonly createdAt: number;
  readonly id: string;
}

/** What revoking did: revoked now, had been revoked before, or no such token of this user. */
export type RevokeOutcome = 'revoked' | 'already_revoked' | 'not_found';

/** The claims of a service token the engine issued. */
export interface ServiceTokenClaims {
  readonly sub: string;
  readonly jti: string;
  readonly scope: string;
  readonly iat: number;
  readonly exp: number;
}

/**
 * Signs one service token, synchronously: a vend charges, signs and stores its answer in one transaction.
 */
export type SignServiceToken = (claims: ServiceTokenClaims) => string;
