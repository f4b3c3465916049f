import type { Statement, Transaction } from 'better-sqlite3';
import { insufficientCredits } from '../db/refusals.js';
import type { EngineDatabase } from '../db/engine-database.js';
import type { Balance, Bucket, EntryContext, LedgerKind, LedgerRow } from '../db/engine-records.js';
import type { GrantKey, GrantOutcome } from '../db/engine-store.js';
import { withSqlite } from '../db/sqlite-errors.js';
import { replayGrant } from './grant-keys.js';

export type { Balance, Bucket, EntryContext, LedgerKind, LedgerRow } from '../db/engine-records.js';

interface UserRow {
  id: string;
  main: number;
  bonus: number;
  updated_at: number;
}
interface GrantKeyRow {
  body_hash: string;
  entry_id: number;
  main: number;
  bonus: number;
  created_at: number;
}
interface LedgerDbRow {
  id: number;
  user_id: string;
  kind: LedgerKind;
  bucket: Bucket;
  amount: number;
  balance_after: number;
  reason: string;
  request_id: string | null;
  job_id: string | null;
  token_id: string | null;
  created_at: number;
}

/**
 * Credits in two buckets (bonus spent first) and the append-only ledger of grants, charges and refunds. The
 * primitives (`charge`, `credit`) must run inside a caller's transaction; the rest open their own. A user seen
 * for the first time gets the signup bonus exactly once (an `INSERT OR IGNORE` and a unique ledger index).
 *
 * @example
 * const ledger = new CreditLedger(db, { signupBonus: 3, now: Date.now });
 * ledger.ensureUser('mobile-user-1', 'req_1'); // { main: 0, bonus: 3, balance: 3, ... }
 */
export class CreditLedger {
  private readonly insertUser: Statement<[string, number, number]>;
  private readonly selectUser: Statement<[string], UserRow>;
  private readonly updateUser: Statement<[number, number, number, string]>;
  private readonly insertEntry: Statement<
    [string, LedgerKind, Bucket, number, number, string, string | null, string | null, string | null, number]
  >;
  private readonly selectPage: Statement<[string, number, number], LedgerDbRow>;
  private readonly selectEntry: Statement<[number], LedgerDbRow>;
  private readonly selectGrantKey: Statement<[string], GrantKeyRow>;
  private readonly insertGrantKey: Statement<[string, string, number, number, number, number]>;
  private readonly grantTx: Transaction<
    (userId: string, amount: number, bucket: Bucket, context: EntryContext, key?: GrantKey) => GrantOutcome
  >;
  readonly ensureUser: (userId: string, requestId: string | null) => Balance;

  constructor(
    db: EngineDatabase,
    private readonly options: { signupBonus: number; now: () => number },
  ) {
    this.insertUser = db.prepare(
      'INSERT OR IGNORE INTO users (id, main, bonus, created_at, updated_at) VALUES (?, 0, 0, ?, ?)',
    );
    this.selectUser = db.prepare('SELECT id, main, bonus, updated_at FROM users WHERE id = ?');
    this.updateUser = db.prepare('UPDATE users SET main = ?, bonus = ?, updated_at = ? WHERE id = ?');
    this.insertEntry =
      db.prepare(`INSERT INTO ledger (user_id, kind, bucket, amount, balance_after, reason, request_id, job_id, token_id, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.selectPage = db.prepare(`SELECT * FROM ledger WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`);
    this.selectEntry = db.prepare('SELECT * FROM ledger WHERE id = ?');
    this.selectGrantKey = db.prepare(
      'SELECT body_hash, entry_id, main, bonus, created_at FROM grant_keys WHERE client_request_id = ?',
    );
    this.insertGrantKey = db.prepare(
      'INSERT INTO grant_keys (client_request_id, body_hash, entry_id, main, bonus, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const ensure = db.transaction((userId: string, requestId: string | null) => this.ensureUserIn(userId, requestId));
    // Reads need no write lock: only a user not seen before takes the transaction that grants the bonus.
    this.ensureUser = (userId, requestId) =>
      withSqlite('create the user', () => {
        const row = this.selectUser.get(userId);
        return row ? toBalance(userId, row) : ensure.immediate(userId, requestId);
      });
    this.grantTx = db.transaction(
      (userId: string, amount: number, bucket: Bucket, context: EntryContext, key?: GrantKey): GrantOutcome => {
        // One writer: nobody can take the key between this read and the insert below.
        const stored = key && this.selectGrantKey.get(key.clientRequestId);
        if (key && stored) {
          const entry = this.selectEntry.get(stored.entry_id);
          return replayGrant(
            {
              bodyHash: stored.body_hash,
              entryId: stored.entry_id,
              main: stored.main,
              bonus: stored.bonus,
              createdAt: stored.created_at,
            },
            key,
            userId,
            entry && toLedgerRow(entry),
          );
        }
        this.ensureUserIn(userId, context.requestId ?? null);
        const entry = this.credit(userId, 'grant', bucket, amount, context);
        const balance = this.balanceIn(userId);
        if (key) {
          this.insertGrantKey.run(
            key.clientRequestId,
            key.bodyHash,
            entry.id,
            balance.main,
            balance.bonus,
            entry.createdAt,
          );
        }
        return { entry, balance, replayed: false };
      },
    );
  }

  /** Creates the user with the signup bonus when first seen (inside the caller's transaction). */
  ensureUserIn(userId: string, requestId: string | null): Balance {
    // Inside a write transaction nobody else can create the user between this read and the insert.
    const row = this.selectUser.get(userId);
    if (row) return toBalance(userId, row);
    const now = this.options.now();
    const created = this.insertUser.run(userId, now, now).changes === 1;
    if (created && this.options.signupBonus > 0) {
      this.credit(userId, 'grant', 'bonus', this.options.signupBonus, { reason: 'signup_bonus', requestId });
    }
    return this.balanceIn(userId);
  }

  /** The user's balance; the user must exist (inside or outside a transaction). */
  balanceIn(userId: string): Balance {
    const row = this.selectUser.get(userId);
    if (!row) throw new Error(`user ${userId} does not exist`);
    return toBalance(userId, row);
  }

  /**
   * Takes 1 credit (bonus first) and writes the charge entry. Throws `insufficient_credits` (writing nothing) when
   * the balance is 0. Call inside a transaction.
   */
  charge(
    userId: string,
    context: EntryContext,
    current: Balance = this.balanceIn(userId),
  ): { entryId: number; bucket: Bucket; balanceAfter: number } {
    if (current.balance < 1) {
      throw insufficientCredits(current.balance);
    }
    const bucket: Bucket = current.bonus > 0 ? 'bonus' : 'main';
    const entry = this.credit(userId, 'charge', bucket, -1, context, current);
    return { entryId: entry.id, bucket, balanceAfter: entry.balanceAfter };
  }

  /**
   * Adds (or, negative, removes) credits in one bucket and appends the entry. Call inside a transaction;
   * `current` is the user's balance read in that same transaction, if the caller has it.
   */
  credit(
    userId: string,
    kind: LedgerKind,
    bucket: Bucket,
    amount: number,
    context: EntryContext,
    current: Balance = this.balanceIn(userId),
  ): LedgerRow {
    const main = current.main + (bucket === 'main' ? amount : 0);
    const bonus = current.bonus + (bucket === 'bonus' ? amount : 0);
    const now = this.options.now();
    this.updateUser.run(main, bonus, now, userId);
    const row: Omit<LedgerRow, 'id'> = {
      userId,
      kind,
      bucket,
      amount,
      balanceAfter: main + bonus,
      reason: context.reason,
      requestId: context.requestId ?? null,
      jobId: context.jobId ?? null,
      tokenId: context.tokenId ?? null,
      createdAt: now,
    };
    const info = this.insertEntry.run(
      userId,
      kind,
      bucket,
      amount,
      row.balanceAfter,
      row.reason,
      row.requestId,
      row.jobId,
      row.tokenId,
      now,
    );
    return { id: Number(info.lastInsertRowid), ...row };
  }

  /**
   * Grants credits to a user (created with the signup bonus first if new), in one transaction; with a `key`, once
   * per key (see {@link replayGrant}).
   *
   * @example
   * ledger.grant('mobile-user-1', 10, 'main', { reason: 'purchase 2026-11-23', requestId });
   */
  grant(userId: string, amount: number, bucket: Bucket, context: EntryContext, key?: GrantKey): GrantOutcome {
    return withSqlite('grant credits', () => this.grantTx.immediate(userId, amount, bucket, context, key));
  }

  /** A page of the user's entries, newest first, strictly older than `beforeId`. */
  page(userId: string, limit: number, beforeId: number = Number.MAX_SAFE_INTEGER): LedgerRow[] {
    return withSqlite('read the ledger', () => this.selectPage.all(userId, beforeId, limit).map(toLedgerRow));
  }
}

function toBalance(userId: string, row: UserRow): Balance {
  return { userId, main: row.main, bonus: row.bonus, balance: row.main + row.bonus, updatedAt: row.updated_at };
}

function toLedgerRow(r: LedgerDbRow): LedgerRow {
  return {
    id: r.id,
    userId: r.user_id,
    kind: r.kind,
    bucket: r.bucket,
    amount: r.amount,
    balanceAfter: r.balance_after,
    reason: r.reason,
    requestId: r.request_id,
    jobId: r.job_id,
    tokenId: r.token_id,
    createdAt: r.created_at,
  };
}
