import { CreditLedger } from '../credits/credit-ledger.js';
import { LedgerTail } from '../credits/ledger-tail.js';
import { IntegrationTokenStore } from '../integrations/integration-token-store.js';
import { IdempotencyStore } from '../tokens/idempotency-store.js';
import { newTokenId, type SignServiceToken } from '../tokens/service-token-keys.js';
import { TokenStore } from '../tokens/token-store.js';
import { replayOf, signVend } from '../tokens/vend-rules.js';
import { openEngineDatabase, type EngineDatabase } from '../db/engine-database.js';
import {
  SigningFailed,
  type EngineStore,
  type EngineStoreOptions,
  type VendInput,
  type VendOutcome,
} from '../db/engine-store.js';
import { sqliteFailure } from '../db/sqlite-errors.js';
import { SqliteGroupCommit } from '../db/sqlite-group-commit.js';

/**
 * The SQLite {@link EngineStore}: the synchronous better-sqlite3 stores (CreditLedger, TokenStore,
 * IdempotencyStore, IntegrationTokenStore) behind the async interface. SQLite has one writer at a time and every
 * transaction here runs to its end without yielding, so no other request interleaves with one.
 *
 * @example
 * const store = openSqliteEngineStore(':memory:', { signupBonus: 3, now: Date.now });
 */
export class SqliteEngineStore implements EngineStore {
  readonly backend = 'sqlite' as const;
  readonly ledger: EngineStore['ledger'];
  readonly tokens: EngineStore['tokens'];
  readonly integrationTokens: EngineStore['integrationTokens'];
  /** The synchronous stores, for SQLite-only tests and tools. */
  readonly sync: {
    readonly ledger: CreditLedger;
    readonly tokens: TokenStore;
    readonly integrationTokens: IntegrationTokenStore;
  };
  private readonly vendUnit: (input: VendInput, sign: SignServiceToken) => VendOutcome;
  private readonly group: SqliteGroupCommit;
  private readonly tail: LedgerTail;

  constructor(
    readonly db: EngineDatabase,
    options: EngineStoreOptions,
    private readonly ownsDb = false,
  ) {
    const ledger = new CreditLedger(db, options);
    const tokens = new TokenStore(db, ledger, options.now);
    const idempotency = new IdempotencyStore(db, options.now);
    const integrationTokens = new IntegrationTokenStore(db, options.now);
    this.sync = { ledger, tokens, integrationTokens };
    this.tail = new LedgerTail(db);
    this.ledger = {
      ensureUser: async (userId, requestId) => ledger.ensureUser(userId, requestId),
      grant: async (userId, amount, bucket, context, key) => ledger.grant(userId, amount, bucket, context, key),
      page: async (userId, limit, beforeId) => ledger.page(userId, limit, beforeId),
    };
    // Every token write goes through the group commit, as the vend does: a submission's claim (its key recorded
    // before anything is forwarded) and its job id are each answered only once committed, and the writes of
    // concurrent submissions share one commit.
    const group = new SqliteGroupCommit(db);
    this.group = group;
    this.tokens = {
      get: async (jti) => tokens.get(jti),
      byJob: async (jobId) => tokens.byJob(jobId),
      claim: (jti, key) => group.run(() => tokens.claim(jti, key)),
      resume: (jti, key) => group.run(() => tokens.resume(jti, key)),
      release: (jti) => group.run(() => tokens.release(jti)),
      markSubmitted: (jti, jobId) => group.run(() => tokens.markSubmitted(jti, jobId)),
      consume: (jti) => group.run(() => tokens.consume(jti)),
      refund: (jti, from, context) => group.run(() => tokens.refund(jti, from, context)),
      expiredUnused: async (before, limit) => tokens.expiredUnused(before, limit),
      stuckSubmitting: async (before, limit) => tokens.stuckSubmitting(before, limit),
      unsettled: async (limit, after) => tokens.unsettled(limit, after),
    };
    this.integrationTokens = {
      create: async (input) => integrationTokens.create(input),
      findByHash: async (hash) => integrationTokens.findByHash(hash),
      listByUser: async (userId, page) => integrationTokens.listByUser(userId, page),
      revoke: async (userId, id) => integrationTokens.revoke(userId, id),
      touch: async (record) => integrationTokens.touch(record),
    };
    // One vend; it runs in a savepoint of a group-commit transaction (see vend()).
    this.vendUnit = (input: VendInput, sign: SignServiceToken): VendOutcome => {
      const balance = ledger.ensureUserIn(input.userId, input.requestId);
      const existing = idempotency.findIn(input.userId, input.clientRequestId);
      if (existing) return replayOf(existing, input);
      const jti = newTokenId();
      const charge = ledger.charge(
        input.userId,
        { reason: 'vend_token', requestId: input.requestId, tokenId: jti },
        balance,
      );
      const signed = signVend(sign, {
        userId: input.userId,
        requestId: input.requestId,
        jti,
        nowMs: options.now(),
        balanceAfter: charge.balanceAfter,
      });
      tokens.insertIn({
        jti,
        userId: input.userId,
        bucket: charge.bucket,
        chargeEntryId: charge.entryId,
        requestId: input.requestId,
        issuedAt: signed.issuedAt,
        expiresAt: signed.expiresAt,
      });
      idempotency.insertDoneIn({
        userId: input.userId,
        clientRequestId: input.clientRequestId,
        bodyHash: input.bodyHash,
        tokenJti: jti,
        responseJson: JSON.stringify(signed.response),
      });
      return { response: signed.response, replayed: false };
    };
  }

  /**
   * Vends in a group commit ({@link SqliteGroupCommit}): the vends of one event-loop turn share one transaction, each
   * in its own savepoint (a failing one writes nothing), and each is answered only after that transaction committed.
   */
  async vend(input: VendInput, sign: SignServiceToken): Promise<VendOutcome> {
    try {
      return await this.group.run(() => this.vendUnit(input, sign));
    } catch (error) {
      if (error instanceof SigningFailed) throw error;
      throw sqliteFailure('charge the credit', error);
    }
  }

  newMovements() {
    return this.tail.read();
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}

/**
 * Opens (creating if needed) a SQLite engine database at `path` (':memory:' for tests) as an {@link EngineStore}
 * that closes the file in `close()`.
 *
 * @example
 * const store = openSqliteEngineStore('./data/business-engine.db', { signupBonus: 3, now: Date.now });
 */
export function openSqliteEngineStore(path: string, options: EngineStoreOptions): SqliteEngineStore {
  return new SqliteEngineStore(openEngineDatabase(path), options, true);
}
