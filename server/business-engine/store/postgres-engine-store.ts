import pg from 'pg';
import type { Logger } from 'pino';
import type { CreditMovement } from '../../shared/observability/domain-metrics.js';
import { newTokenId, type SignServiceToken } from '../tokens/service-token-keys.js';
import { insufficientCredits } from '../db/refusals.js';
import { inProgress, replayOf, signVend } from '../tokens/vend-rules.js';
import type { EngineStore, EngineStoreOptions, VendInput, VendOutcome } from '../db/engine-store.js';
import { migratePostgres } from '../db/postgres-migrations.js';
import { isRetryableConflict, postgresFailure } from '../db/postgres-errors.js';
import { createEnginePool } from '../db/postgres-pool.js';
import { postgresIntegrationTokens } from './postgres-integration-tokens.js';
import { postgresLedger } from './postgres-ledger.js';
import { postgresTokenRecords } from './postgres-token-records.js';
import { PostgresVendBatch, type VendCall, type VendRow } from './postgres-vend-batch.js';

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
  /**
   * This process's own committed charges and refunds since the last scrape, summed per kind and reason (a bounded
   * set), so a replica nobody scrapes holds a few counters, not a list that grows (see {@link newMovements}).
   */
  private movements = new Map<string, CreditMovement>();
  private closed = false;
  private readonly vends: PostgresVendBatch;

  constructor(
    readonly pool: pg.Pool,
    private readonly options: EngineStoreOptions,
  ) {
    const now = options.now;
    this.vends = new PostgresVendBatch(pool, options.signupBonus, (call) => this.vendAlone(call));
    this.ledger = postgresLedger(pool, options);
    const tokens = postgresTokenRecords(pool, now);
    this.tokens = {
      ...tokens,
      refund: async (jti, from, context) => {
        const refunded = await tokens.refund(jti, from, context);
        if (refunded) this.count('refund', context.reason);
        return refunded;
      },
    };
    this.integrationTokens = postgresIntegrationTokens(pool, now);
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
    this.count('charge', 'vend_token');
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

  /**
   * The charges and refunds this process committed since the previous call. Every replica reports its own, so the
   * credit counters of all replicas add up to the ledger's movements (reading the shared ledger would make every
   * replica report everybody's, N times in a sum). A movement whose commit was answered too late to be known here
   * (the connection lost right after COMMIT) is not counted; the ledger stays the record.
   */
  newMovements(): CreditMovement[] {
    const ready = [...this.movements.values()];
    this.movements = new Map();
    return ready;
  }

  private count(kind: CreditMovement['kind'], reason: string): void {
    const key = `${kind}:${reason}`;
    const current = this.movements.get(key);
    this.movements.set(key, { kind, reason, credits: (current?.credits ?? 0) + 1 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
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
