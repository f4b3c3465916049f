import type { components } from '../../../generated/business-engine/schema.js';
import type { CreditMovement } from '../../shared/observability/domain-metrics.js';
import type {
  Balance,
  Bucket,
  EntryContext,
  IntegrationTokenPosition,
  IntegrationTokenRecord,
  LedgerRow,
  RefundContext,
  RevokeOutcome,
  SignServiceToken,
  TokenRecord,
  TokenState,
} from './engine-records.js';

type VendTokenResponse = components['schemas']['VendTokenResponse'];

/** One vend, after authentication and validation; `bodyHash` is the canonical hash of its body. */
export interface VendInput {
  readonly userId: string;
  readonly clientRequestId: string;
  readonly bodyHash: string;
  readonly requestId: string;
}

/** A vend's answer, and whether it is the stored answer of an earlier request with the same key and body. */
export interface VendOutcome {
  readonly response: VendTokenResponse;
  readonly replayed: boolean;
}

/** A grant's idempotency key: the caller's clientRequestId and the hash of the body it came with. */
export interface GrantKey {
  readonly clientRequestId: string;
  readonly bodyHash: string;
}

/** A grant's ledger entry and the balance it left; `replayed` when it is an earlier grant with the same key. */
export interface GrantOutcome {
  readonly entry: LedgerRow;
  readonly balance: Balance;
  readonly replayed: boolean;
}

/** Credits: balances (bonus spent first) and the append-only ledger. */
export interface LedgerStore {
  /** The user's balance, creating the user with the signup bonus exactly once when first seen. */
  ensureUser(userId: string, requestId: string | null): Promise<Balance>;
  /**
   * Grants credits in one transaction (creating the user first if new). With a `key`, once per key: the same key
   * and body answer the first grant again (`replayed`, its entry and the balance it left), another body is
   * `idempotency_key_reused`, and nothing more is credited.
   */
  grant(userId: string, amount: number, bucket: Bucket, context: EntryContext, key?: GrantKey): Promise<GrantOutcome>;
  /** A page of the user's entries, newest first, strictly older than `beforeId`. */
  page(userId: string, limit: number, beforeId?: number): Promise<LedgerRow[]>;
}

/** Service-token records; every state change is conditional on the state it leaves, so it happens at most once. */
export interface TokenRecords {
  get(jti: string): Promise<TokenRecord | undefined>;
  byJob(jobId: string): Promise<TokenRecord | undefined>;
  /** vended -> submitting, recording the submission key in the same statement. */
  claim(jti: string, submissionKey: string): Promise<boolean>;
  /** A token in submitting resumed with its recorded key: its last change becomes now (false if not in submitting with it). */
  resume(jti: string, submissionKey: string): Promise<boolean>;
  /** submitting -> vended (the caller's own mistake). */
  release(jti: string): Promise<boolean>;
  /** submitting -> submitted with the job id. */
  markSubmitted(jti: string, jobId: string): Promise<boolean>;
  /** submitted -> consumed. */
  consume(jti: string): Promise<boolean>;
  /**
   * `from` -> refunded plus its ledger entry, in one transaction; false (nothing written) when not in `from` (or,
   * with `context.unchangedSince`, when the token changed since).
   */
  refund(jti: string, from: TokenState, context: RefundContext): Promise<boolean>;
  /** Vended tokens whose expiry is at or before `before` (ms). */
  expiredUnused(before: number, limit: number): Promise<TokenRecord[]>;
  /** Tokens in submitting whose last change was at or before `before` (ms). */
  stuckSubmitting(before: number, limit: number): Promise<TokenRecord[]>;
  /** Submitted tokens, oldest first, strictly after `after` in (submittedAt, jti) order. */
  unsettled(limit: number, after?: { submittedAt: number; jti: string }): Promise<TokenRecord[]>;
}

/** Integration tokens: only their SHA-256 is stored. */
export interface IntegrationTokenRecords {
  create(input: {
    userId: string;
    description: string;
    scopes: readonly string[];
    expiresAt: number | null;
  }): Promise<{ token: string; record: IntegrationTokenRecord }>;
  findByHash(hash: string): Promise<IntegrationTokenRecord | undefined>;
  /** A user's tokens, newest first (createdAt, then id, descending), `page.limit` at most, strictly after `page.after`. */
  listByUser(
    userId: string,
    page: { limit: number; after?: IntegrationTokenPosition },
  ): Promise<IntegrationTokenRecord[]>;
  revoke(userId: string, id: string): Promise<RevokeOutcome>;
  /** Records a use, writing at most once a minute per token. */
  touch(record: IntegrationTokenRecord): Promise<boolean>;
}

/**
 * The Business Engine's storage, ONE interface with two implementations: SQLite (better-sqlite3, the embedded
 * default) and PostgreSQL (`pg`, for several replicas on one database). Both keep the same invariants under
 * concurrency: no lost update and no negative balance (SQLite: one writer; PostgreSQL: the balance row locked with
 * SELECT ... FOR UPDATE), one charge per vend key (a unique key), one claim per token and one refund per token
 * (conditional updates and unique ledger indexes). The contract suite
 * (test/server/business-engine/db/engine-store.contract.test.ts) runs against both.
 *
 * @example
 * const store = await openEngineStore(config.db, { signupBonus: 3, now: Date.now, poolMax: 10 });
 * const balance = await store.ledger.ensureUser('u1', 'req_1');
 * await store.close();
 */
export interface EngineStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly ledger: LedgerStore;
  readonly tokens: TokenRecords;
  readonly integrationTokens: IntegrationTokenRecords;
  /**
   * Vends a service token atomically: the idempotency key, the charge (1 credit, bonus first), the token record, its
   * signature (`sign`, synchronous) and the stored answer (SQLite: one savepoint in a group commit, answered once
   * committed; PostgreSQL: one `engine_vend` statement). Throws idempotency_key_reused,
   * idempotency_in_progress (PostgreSQL: another replica holds the key right now) or insufficient_credits,
   * writing nothing; a signer that throws rolls everything back and is rethrown as {@link SigningFailed}.
   */
  vend(input: VendInput, sign: SignServiceToken): Promise<VendOutcome>;
  /** Charges and refunds appended since the previous call (for the credit metrics; may lag one call behind). */
  newMovements(): CreditMovement[];
  close(): Promise<void>;
}

/** Options both implementations take. */
export interface EngineStoreOptions {
  readonly signupBonus: number;
  readonly now: () => number;
}

/** A signer's failure inside a vend, carried out of the transaction it rolled back. */
export class SigningFailed extends Error {
  override readonly name = 'SigningFailed';
}
