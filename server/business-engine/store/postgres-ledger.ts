import type pg from 'pg';
import type { Balance, Bucket, EntryContext, LedgerKind, LedgerRow } from '../db/engine-records.js';
import type { EngineStore, EngineStoreOptions, GrantKey, GrantOutcome } from '../db/engine-store.js';
import { replayGrant } from '../credits/grant-keys.js';
import { runQuery, runTransaction } from '../db/postgres-pool.js';
import { toBalance, toLedgerRow } from './postgres-rows.js';

type Client = pg.PoolClient;
type Row = Record<string, unknown>;

/**
 * Balances and the ledger on PostgreSQL. A grant is one transaction: the user created once (signup bonus by the
 * primary key's decision), the bucket raised by one atomic UPDATE (its row lock held to commit, so concurrent
 * grants, charges and refunds on any replicas never lose an update) and the entry appended.
 *
 * @example
 * const ledger = postgresLedger(pool, { signupBonus: 3, now: Date.now });
 * await ledger.grant('u1', 10, 'main', { reason: 'purchase' });
 */
export function postgresLedger(pool: pg.Pool, options: EngineStoreOptions): EngineStore['ledger'] {
  const query = (what: string, sql: string, values: unknown[]) => runQuery<Row>(pool, what, sql, values);
  const transaction = <T>(what: string, work: (c: Client) => Promise<T>) => runTransaction(pool, what, work);
  return {
    ensureUser: async (userId, requestId) => {
      const found = await query('read the balance', 'SELECT main, bonus, updated_at FROM users WHERE id = $1', [
        userId,
      ]);
      if (found.rows[0]) return toBalance(userId, found.rows[0]);
      return transaction('create the user', (c) => ensureUserIn(c, options, userId, requestId));
    },
    grant: (userId, amount, bucket, context, key) =>
      transaction('grant credits', async (c): Promise<GrantOutcome> => {
        if (key) {
          // The key first: a concurrent grant with the same key (on any replica) waits here until this one commits,
          // then finds the key and replays it.
          const taken = await c.query(
            'INSERT INTO grant_keys (client_request_id, body_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
            [key.clientRequestId, key.bodyHash, options.now()],
          );
          if (taken.rowCount === 0) return replayIn(c, userId, key);
        }
        await ensureUserIn(c, options, userId, context.requestId ?? null);
        const entry = await creditIn(c, options.now, userId, 'grant', bucket, amount, context);
        const balance = await balanceIn(c, userId);
        if (key) {
          await c.query('UPDATE grant_keys SET entry_id = $1, main = $2, bonus = $3 WHERE client_request_id = $4', [
            entry.id,
            balance.main,
            balance.bonus,
            key.clientRequestId,
          ]);
        }
        return { entry, balance, replayed: false };
      }),
    page: async (userId, limit, beforeId = Number.MAX_SAFE_INTEGER) =>
      (
        await query(
          'read the ledger',
          'SELECT * FROM ledger WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3',
          [userId, beforeId, limit],
        )
      ).rows.map(toLedgerRow),
  };
}

/** The first grant with `key`, answered again (or `idempotency_key_reused` for another body). */
async function replayIn(c: Client, userId: string, key: GrantKey): Promise<GrantOutcome> {
  const {
    rows: [stored],
  } = await c.query<{ body_hash: string; entry_id: number; main: number; bonus: number; created_at: number }>(
    'SELECT body_hash, entry_id, main, bonus, created_at FROM grant_keys WHERE client_request_id = $1',
    [key.clientRequestId],
  );
  if (!stored) throw new Error(`grant key ${key.clientRequestId} vanished`);
  const {
    rows: [entry],
  } = await c.query<Row>('SELECT * FROM ledger WHERE id = $1', [stored.entry_id]);
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

/**
 * The user's balance inside transaction `c`, creating the user first (with the signup bonus, exactly once: the
 * primary key decides who created it) when it is new.
 *
 * @example
 * const balance = await ensureUserIn(client, options, 'u1', requestId);
 */
export async function ensureUserIn(
  c: Client,
  options: EngineStoreOptions,
  userId: string,
  requestId: string | null,
): Promise<Balance> {
  const at = options.now();
  const inserted = await c.query(
    'INSERT INTO users (id, main, bonus, created_at, updated_at) VALUES ($1, 0, 0, $2, $2) ON CONFLICT (id) DO NOTHING',
    [userId, at],
  );
  if (inserted.rowCount === 1 && options.signupBonus > 0) {
    await creditIn(c, options.now, userId, 'grant', 'bonus', options.signupBonus, {
      reason: 'signup_bonus',
      requestId,
    });
  }
  return balanceIn(c, userId);
}

/** The user's balance inside transaction `c` (the user must exist). */
export async function balanceIn(c: Client, userId: string): Promise<Balance> {
  const {
    rows: [row],
  } = await c.query<Row>('SELECT main, bonus, updated_at FROM users WHERE id = $1', [userId]);
  if (!row) throw new Error(`user ${userId} does not exist`);
  return toBalance(userId, row);
}

/**
 * Adds (or removes) credits in one bucket with one atomic UPDATE (its row lock held to commit) and appends the entry,
 * inside transaction `c`.
 *
 * @example
 * await creditIn(client, Date.now, userId, 'refund', 'main', 1, { reason: 'job_failed', tokenId: jti });
 */
export async function creditIn(
  c: Client,
  now: () => number,
  userId: string,
  kind: LedgerKind,
  bucket: Bucket,
  amount: number,
  context: EntryContext,
): Promise<LedgerRow> {
  const at = now();
  const column = bucket === 'main' ? 'main' : 'bonus';
  const {
    rows: [user],
  } = await c.query<{ main: number; bonus: number }>(
    `UPDATE users SET ${column} = ${column} + $1, updated_at = $2 WHERE id = $3 RETURNING main, bonus`,
    [amount, at, userId],
  );
  if (!user) throw new Error(`user ${userId} does not exist`);
  const balanceAfter = user.main + user.bonus;
  const row: Omit<LedgerRow, 'id'> = {
    userId,
    kind,
    bucket,
    amount,
    balanceAfter,
    reason: context.reason,
    requestId: context.requestId ?? null,
    jobId: context.jobId ?? null,
    tokenId: context.tokenId ?? null,
    createdAt: at,
  };
  const {
    rows: [entry],
  } = await c.query<{ id: number }>(
    `INSERT INTO ledger (user_id, kind, bucket, amount, balance_after, reason, request_id, job_id, token_id, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [userId, kind, bucket, amount, balanceAfter, row.reason, row.requestId, row.jobId, row.tokenId, at],
  );
  if (!entry) throw new Error('the ledger entry was not written');
  return { id: entry.id, ...row };
}
