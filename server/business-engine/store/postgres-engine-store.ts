import pg from 'pg';
import type { Logger } from 'pino';
import type { CreditMovement } from '../../shared/observability/domain-metrics.js';
import type { Balance, Bucket, EntryContext, LedgerKind, LedgerRow, TokenState } from '../db/engine-records.js';
import { toBalance, toIntegrationRecord, toLedgerRow, toTokenRecord } from './postgres-rows.js';
import { generateIntegrationToken, hashIntegrationToken } from '../integrations/integration-token-format.js';
import { LAST_USED_RESOLUTION_MS } from '../integrations/integration-token-store.js';
import { newTokenId, type SignServiceToken } from '../tokens/service-token-keys.js';
import { inProgress, insufficientCredits, replayOf, signVend } from '../tokens/vend-rules.js';
import type { EngineStore, EngineStoreOptions, VendInput, VendOutcome } from '../db/engine-store.js';
import { migratePostgres } from '../db/postgres-migrations.js';
import { isRetryableConflict, postgresFailure } from '../db/postgres-errors.js';
import { createEnginePool, runQuery, runTransaction } from '../db/postgres-pool.js';
import { PostgresVendBatch, type VendCall, type VendRow } from './postgres-vend-batch.js';

type Client = pg.PoolClient;
type Row = Record<string, unknown>;

/** How often a vend that hit a deadlock or a serialization failure is sent again (it wrote nothing). */
const VEND_ATTEMPTS = 5;

/**
 * The PostgreSQL {@link EngineStore}, for any number of engine replicas on one database. Each operation is one
 * transaction on a pooled connection, with no session state (no named prepared statements, no SET, no session
 * advisory locks), so it works behind PgBouncer in transaction mode. The balance row is locked
 * (`SELECT ... FOR UPDATE`, or the row lock of an `UPDATE`) before it is read for a charge, so two replicas never
 * lose an update and a balance never goes negative (CHECK constraints back it); a vend key is taken under a
 * transaction-scoped advisory lock and a primary key, so one key charges once across replicas; token state changes
 * are conditional UPDATEs; refunds are unique per token in the ledger. Deadlocks and serialization failures are
 * retried as a whole transaction; a lost database is `503 service_unavailable` with Retry-After.
 *
 * @example
 * const store = await openPostgresEngineStore(url, { signupBonus: 3, now: Date.now, poolMax: 10, logger });
 */
export class PostgresEngineStore implements EngineStore {
  readonly backend = 'postgres' as const;
  readonly ledger: EngineStore['ledger'];
  readonly tokens: EngineStore['tokens'];
  readonly integrationTokens: EngineStore['integrationTokens'];
  private lastLedgerId: number | undefined;
  private pendingMovements: CreditMovement[] = [];
  private reading: Promise<void> | undefined;
  private closed = false;
  private readonly vends: PostgresVendBatch;

  constructor(
    readonly pool: pg.Pool,
    private readonly options: EngineStoreOptions,
  ) {
    const now = options.now;
    this.vends = new PostgresVendBatch(pool, options.signupBonus, (call) => this.vendAlone(call));
    this.ledger = {
      ensureUser: async (userId, requestId) => {
        const found = await this.query('read the balance', 'SELECT main, bonus, updated_at FROM users WHERE id = $1', [
          userId,
        ]);
        if (found.rows[0]) return toBalance(userId, found.rows[0]);
        return this.transaction('create the user', (c) => this.ensureUserIn(c, userId, requestId));
      },
      grant: (userId, amount, bucket, context) =>
        this.transaction('grant credits', async (c) => {
          await this.ensureUserIn(c, userId, context.requestId ?? null);
          const entry = await this.credit(c, userId, 'grant', bucket, amount, context);
          return { entry, balance: await this.balanceIn(c, userId) };
        }),
      page: async (userId, limit, beforeId = Number.MAX_SAFE_INTEGER) =>
        (
          await this.query(
            'read the ledger',
            'SELECT * FROM ledger WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3',
            [userId, beforeId, limit],
          )
        ).rows.map(toLedgerRow),
    };
    const one = async (what: string, sql: string, values: unknown[]) => {
      const row = (await this.query(what, sql, values)).rows[0];
      return row ? toTokenRecord(row) : undefined;
    };
    const many = async (what: string, sql: string, values: unknown[]) =>
      (await this.query(what, sql, values)).rows.map(toTokenRecord);
    const changed = async (what: string, sql: string, values: unknown[]) =>
      (await this.query(what, sql, values)).rowCount === 1;
    this.tokens = {
      get: (jti) => one('read the service token', 'SELECT * FROM service_tokens WHERE jti = $1', [jti]),
      byJob: (jobId) => one('read the job', 'SELECT * FROM service_tokens WHERE job_id = $1', [jobId]),
      claim: (jti, key) =>
        changed(
          'claim the service token',
          `UPDATE service_tokens SET state = 'submitting', submission_key = $1, updated_at = $2 WHERE jti = $3 AND state = 'vended'`,
          [key, now(), jti],
        ),
      resume: (jti, key) =>
        changed(
          'resume the submission',
          `UPDATE service_tokens SET updated_at = GREATEST(updated_at + 1, $1) WHERE jti = $2 AND state = 'submitting' AND submission_key = $3`,
          [now(), jti, key],
        ),
      release: (jti) =>
        changed(
          'release the service token',
          `UPDATE service_tokens SET state = 'vended', updated_at = $1 WHERE jti = $2 AND state = 'submitting'`,
          [now(), jti],
        ),
      markSubmitted: (jti, jobId) => {
        const at = now();
        return changed(
          'record the job',
          `UPDATE service_tokens SET state = 'submitted', job_id = $1, submitted_at = $2, updated_at = $2 WHERE jti = $3 AND state = 'submitting'`,
          [jobId, at, jti],
        );
      },
      consume: (jti) => {
        const at = now();
        return changed(
          'settle the job',
          `UPDATE service_tokens SET state = 'consumed', settled_at = $1, updated_at = $1 WHERE jti = $2 AND state = 'submitted'`,
          [at, jti],
        );
      },
      refund: (jti, from, context) =>
        this.transaction('refund the credit', async (c) => {
          const at = now();
          const unchanged = context.unchangedSince === undefined ? '' : ' AND updated_at = $5';
          const { rows } = await c.query(
            `UPDATE service_tokens SET state = 'refunded', refund_reason = $1, settled_at = $2, updated_at = $2
          WHERE jti = $3 AND state = $4${unchanged} RETURNING user_id, bucket, job_id`,
            [
              context.reason,
              at,
              jti,
              from satisfies TokenState,
              ...(context.unchangedSince === undefined ? [] : [context.unchangedSince]),
            ],
          );
          const token = rows[0] as { user_id: string; bucket: Bucket; job_id: string | null } | undefined;
          if (!token) return false;
          await this.credit(c, token.user_id, 'refund', token.bucket, 1, {
            reason: context.reason,
            requestId: context.requestId,
            tokenId: jti,
            jobId: token.job_id,
          });
          return true;
        }),
      expiredUnused: (before, limit) =>
        many(
          'list expired tokens',
          `SELECT * FROM service_tokens WHERE state = 'vended' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
          [before, limit],
        ),
      stuckSubmitting: (before, limit) =>
        many(
          'list interrupted submissions',
          `SELECT * FROM service_tokens WHERE state = 'submitting' AND updated_at <= $1 ORDER BY updated_at LIMIT $2`,
          [before, limit],
        ),
      unsettled: (limit, after) => {
        const at = after?.submittedAt ?? -1;
        return many(
          'list unsettled jobs',
          `SELECT * FROM service_tokens WHERE state = 'submitted'
          AND (submitted_at > $1 OR (submitted_at = $1 AND jti > $2)) ORDER BY submitted_at, jti LIMIT $3`,
          [at, after?.jti ?? '', limit],
        );
      },
    };
    const columns = 'id, user_id, description, scopes, created_at, last_used_at, expires_at, revoked_at';
    this.integrationTokens = {
      create: async (input) => {
        const token = generateIntegrationToken();
        const id = newTokenId('itk_');
        const createdAt = now();
        await this.query(
          'create the integration token',
          `INSERT INTO integration_tokens (id, user_id, description, scopes, token_hash, created_at, expires_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            id,
            input.userId,
            input.description,
            input.scopes.join(' '),
            hashIntegrationToken(token),
            createdAt,
            input.expiresAt,
          ],
        );
        return {
          token,
          record: {
            id,
            userId: input.userId,
            description: input.description,
            scopes: [...input.scopes],
            createdAt,
            lastUsedAt: null,
            expiresAt: input.expiresAt,
            revokedAt: null,
          },
        };
      },
      findByHash: async (hash) => {
        const row = (
          await this.query(
            'read the integration token',
            `SELECT ${columns} FROM integration_tokens WHERE token_hash = $1`,
            [hash],
          )
        ).rows[0];
        return row ? toIntegrationRecord(row) : undefined;
      },
      listByUser: async (userId, page) => {
        if (!Number.isInteger(page.limit) || page.limit < 1)
          throw new Error('listByUser: limit must be a whole number >= 1');
        const { after } = page;
        const rows = after
          ? await this.query(
              'list the integration tokens',
              `SELECT ${columns} FROM integration_tokens
              WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4`,
              [userId, after.createdAt, after.id, page.limit],
            )
          : await this.query(
              'list the integration tokens',
              `SELECT ${columns} FROM integration_tokens
              WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
              [userId, page.limit],
            );
        return rows.rows.map(toIntegrationRecord);
      },
      revoke: async (userId, id) => {
        if (
          await changed(
            'revoke the integration token',
            'UPDATE integration_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL',
            [now(), id, userId],
          )
        )
          return 'revoked';
        const owned = await this.query(
          'revoke the integration token',
          'SELECT 1 FROM integration_tokens WHERE id = $1 AND user_id = $2',
          [id, userId],
        );
        return owned.rows.length > 0 ? 'already_revoked' : 'not_found';
      },
      touch: async (record) => {
        const at = now();
        if (record.lastUsedAt !== null && at - record.lastUsedAt < LAST_USED_RESOLUTION_MS) return false;
        return changed(
          'record the integration token use',
          'UPDATE integration_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)',
          [at, record.id, at - LAST_USED_RESOLUTION_MS],
        );
      },
    };
  }

  /**
   * The token is signed first (its jti made here), then `engine_vend` (migration 2) takes the key, charges under the
   * balance row's lock and records the token, the ledger entry and the answer, or writes nothing. The vends of one
   * event-loop turn share one statement and one commit (see {@link PostgresVendBatch}). A token signed for a vend
   * that is then refused (a replay, no credits) is never sent anywhere.
   */
  async vend(input: VendInput, sign: SignServiceToken): Promise<VendOutcome> {
    const jti = newTokenId();
    const at = this.options.now();
    const signed = signVend(sign, {
      userId: input.userId,
      requestId: input.requestId,
      jti,
      nowMs: at,
      balanceAfter: 0,
    });
    const row = await this.vends.vend({
      ...input,
      jti,
      issuedAt: signed.issuedAt,
      expiresAt: signed.expiresAt,
      at,
      response: signed.response,
    });
    if (row.o_outcome === 'in_progress') throw inProgress(input.clientRequestId);
    if (row.o_outcome === 'replay') {
      return replayOf({ bodyHash: row.o_body_hash ?? '', responseJson: row.o_response }, input);
    }
    return { response: { ...signed.response, balanceAfter: Number(row.o_balance) }, replayed: false };
  }

  /** One vend as its own statement, sent again on a deadlock or serialization failure (it wrote nothing). */
  private async vendAlone(call: VendCall): Promise<VendRow> {
    const values = [
      call.userId,
      call.clientRequestId,
      call.bodyHash,
      call.requestId,
      call.jti,
      call.issuedAt,
      call.expiresAt,
      call.at,
      this.options.signupBonus,
      JSON.stringify(call.response),
    ];
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { rows } = await this.pool.query<VendRow>(
          'SELECT * FROM engine_vend($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          values,
        );
        return rows[0] as VendRow;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === 'PLU01') throw inProgress(call.clientRequestId);
        if (code === 'PLU02') throw insufficientCredits(Number((error as { detail?: unknown }).detail));
        if (isRetryableConflict(error) && attempt < VEND_ATTEMPTS) continue;
        throw postgresFailure('charge the credit', error);
      }
    }
  }

  newMovements(): CreditMovement[] {
    // pg answers asynchronously while the metrics are collected synchronously: hand out what the previous read
    // found and start the next read (the counters lag one scrape behind, never miss a committed movement).
    const ready = this.pendingMovements;
    this.pendingMovements = [];
    this.reading ??= this.readMovements()
      .catch(() => undefined)
      .finally(() => {
        this.reading = undefined;
      });
    return ready;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reading;
    await this.pool.end();
  }

  private async readMovements(): Promise<void> {
    if (this.lastLedgerId === undefined) {
      const { rows } = await this.pool.query<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM ledger');
      this.lastLedgerId = rows[0]?.id ?? 0;
      return;
    }
    const { rows } = await this.pool.query(
      'SELECT id, kind, reason, amount FROM ledger WHERE id > $1 ORDER BY id LIMIT 1000',
      [this.lastLedgerId],
    );
    for (const row of rows as Array<{ id: number; kind: LedgerKind; reason: string; amount: number }>) {
      this.lastLedgerId = row.id;
      if (row.kind !== 'grant')
        this.pendingMovements.push({ kind: row.kind, reason: row.reason, credits: Math.abs(row.amount) });
    }
  }

  private query(what: string, sql: string, values: unknown[]): Promise<pg.QueryResult<Row>> {
    return runQuery<Row>(this.pool, what, sql, values);
  }

  private transaction<T>(what: string, work: (client: Client) => Promise<T>): Promise<T> {
    return runTransaction(this.pool, what, work);
  }

  private async ensureUserIn(c: Client, userId: string, requestId: string | null): Promise<Balance> {
    const at = this.options.now();
    const inserted = await c.query(
      'INSERT INTO users (id, main, bonus, created_at, updated_at) VALUES ($1, 0, 0, $2, $2) ON CONFLICT (id) DO NOTHING',
      [userId, at],
    );
    if (inserted.rowCount === 1 && this.options.signupBonus > 0) {
      await this.credit(c, userId, 'grant', 'bonus', this.options.signupBonus, { reason: 'signup_bonus', requestId });
    }
    return this.balanceIn(c, userId);
  }

  private async balanceIn(c: Client, userId: string): Promise<Balance> {
    const {
      rows: [row],
    } = await c.query<Row>('SELECT main, bonus, updated_at FROM users WHERE id = $1', [userId]);
    if (!row) throw new Error(`user ${userId} does not exist`);
    return toBalance(userId, row);
  }

  /** Adds (or removes) credits in one bucket with one atomic UPDATE (its row lock held to commit) and appends the entry. */
  private async credit(
    c: Client,
    userId: string,
    kind: LedgerKind,
    bucket: Bucket,
    amount: number,
    context: EntryContext,
  ): Promise<LedgerRow> {
    const at = this.options.now();
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
}

/** Options of {@link openPostgresEngineStore}. */
export interface PostgresStoreOptions extends EngineStoreOptions {
  /** Most connections this process opens (ENGINE_DB_POOL_MAX). */
  readonly poolMax: number;
  readonly logger?: Logger;
  /** How long to wait for a connection before the request fails as service_unavailable. */
  readonly connectionTimeoutMs?: number;
}

/**
 * Connects to PostgreSQL at `url`, applies the pending migrations and returns the store. Throws (closing the pool)
 * when the database cannot be reached or its schema is newer than this engine; the caller names ENGINE_DB.
 *
 * @example
 * const store = await openPostgresEngineStore('postgres://app@127.0.0.1:5432/engine', { signupBonus: 3, now: Date.now, poolMax: 10 });
 */
export async function openPostgresEngineStore(
  url: string,
  options: PostgresStoreOptions,
): Promise<PostgresEngineStore> {
  const pool = createEnginePool(url, options);
  try {
    await migratePostgres(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return new PostgresEngineStore(pool, options);
}
