import pg from 'pg';
import { createPgPool } from '../db/postgres-pool.js';
import { describeDatabaseError, isPostgresUrl } from '../db/postgres-url.js';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { memoryRateLimiterStore } from './rate-limiter-store.js';
import { BatchedCounters, BatchedRateLimiterPostgres } from './batched-postgres-counters.js';

/**
 * One limit: `points` requests per `duration` seconds per key, under its own key prefix. The same shape as the
 * rate-limit middleware's limiter options, so {@link DatabaseRateLimiterStore.limiter} can be injected as its
 * store (`rateLimiterStore: store.limiter`).
 */
export interface LimitOptions {
  /** Names the limit (e.g. 'vend'); keys of different limits never collide. */
  readonly keyPrefix: string;
  readonly points: number;
  /** The window in seconds. */
  readonly duration: number;
}

/** Where a service's limiters keep their counters: this process (SQLite deployments) or the shared PostgreSQL. */
export interface DatabaseRateLimiterStore {
  readonly kind: 'memory' | 'postgres';
  /**
   * Builds a rate-limiter-flexible limiter; on PostgreSQL every replica's limiter with the same prefix shares one
   * budget. A plain function (no `this`), so it can be passed on as is.
   */
  readonly limiter: (options: LimitOptions) => RateLimiterAbstract;
  /** Ends the pool this store opened (nothing for memory). */
  close(): Promise<void>;
}

export interface DatabaseRateLimiterStoreOptions {
  /** The service's database setting (ENGINE_DB / TTT_DB): a `postgres://` URL selects PostgreSQL, anything else memory. */
  readonly database: string;
  /** The counters' table on PostgreSQL (one table for all limits of a service). Default `rate_limits`. */
  readonly tableName?: string;
  /** Connections of the limiters' own pool (ENGINE_DB_POOL_MAX-style budgets count it). Default 2. */
  readonly poolMax?: number;
  /** The variable that holds `database`, named in errors (e.g. ENGINE_DB). */
  readonly variable?: string;
  /**
   * How long a limit check waits for a connection, and for a query's answer, before it fails (and the request is
   * answered `503 service_unavailable`) instead of hanging on a lost database. Default 5000 ms.
   */
  readonly timeoutMs?: number;
  /** Where a failed purge of expired counters is reported (it is tried again at the next interval). */
  readonly logger?: { warn(fields: object, message: string): void };
}

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** How often expired counters are purged (rate-limiter-flexible's own interval). */
const PURGE_INTERVAL_MS = 300_000;

/**
 * Opens the rate-limit store that matches the service's database: RateLimiterMemory when it is SQLite (one
 * process, so memory is the whole truth), RateLimiterPostgres on a small pg pool of the service's URL when it is
 * PostgreSQL, so a limit of N is N per key across all replicas, not N per replica. The counters' table is
 * created once (under an advisory lock, since replicas start together) before any limiter is handed out; all
 * limits share it, which also keeps rate-limiter-flexible's named prepared statements identical per connection.
 *
 * @throws Error when the options are malformed, or the database cannot be reached (the cause is kept; the
 *   message never holds the URL or its password).
 * @example
 * const limits = await openDatabaseRateLimiterStore({ database: config.dbPath });
 * const vend = limits.limiter({ keyPrefix: 'vend', points: 30, duration: 60 });
 * await vend.consume(userId); // rejects with a RateLimiterRes when the budget is spent
 * // or: createApp(config, { ..., rateLimiterStore: limits.limiter }); at shutdown: await limits.close();
 */
export async function openDatabaseRateLimiterStore(
  options: DatabaseRateLimiterStoreOptions,
): Promise<DatabaseRateLimiterStore> {
  const tableName = options.tableName ?? 'rate_limits';
  if (!TABLE_NAME.test(tableName))
    throw new Error(`tableName ${JSON.stringify(tableName)} must be a plain lower-case SQL identifier`);
  const poolMax = options.poolMax ?? 2;
  if (!Number.isInteger(poolMax) || poolMax < 1)
    throw new Error(`poolMax must be a positive whole number; got ${poolMax}`);
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new Error(`timeoutMs must be a positive whole number; got ${timeoutMs}`);
  if (!isPostgresUrl(options.database)) {
    return {
      kind: 'memory',
      limiter: (limit) => memoryRateLimiterStore(checked(limit)),
      close: async () => {},
    };
  }
  const pool = createPgPool(options.database, {
    max: poolMax,
    applicationName: 'pluct-rate-limits',
    connectionTimeoutMs: timeoutMs,
    queryTimeoutMs: timeoutMs,
  });
  try {
    await createTable(pool, tableName);
  } catch (cause) {
    await pool.end().catch(() => {});
    const where = options.variable ? `the PostgreSQL database of ${options.variable}` : 'the PostgreSQL database';
    throw new Error(
      `the rate-limit table ${tableName} could not be created on ${where}: ${describeDatabaseError(cause, options.database)}`,
      {
        cause,
      },
    );
  }
  // rate-limiter-flexible names its prepared statements, which PgBouncer's transaction mode cannot keep across
  // server connections: its queries go to the pool as unnamed statements (text and values only).
  const unnamedStatements = { query: (q: { text: string; values?: unknown[] }) => pool.query(q.text, q.values) };
  // All limits of the process count a turn's requests with one statement (see BatchedCounters).
  const counters = new BatchedCounters((text, values) => pool.query(text, values), tableName);
  // Expired counters are purged here, once per process, instead of by every limiter (whose plain DELETE could
  // deadlock with a batch). A failed purge is tried again at the next interval.
  const purge = setInterval(() => {
    counters
      .purgeExpired(Date.now())
      .catch((err: unknown) =>
        options.logger?.warn({ err, table: tableName }, 'expired rate-limit counters not purged'),
      );
  }, PURGE_INTERVAL_MS);
  purge.unref();
  let closed = false;
  return {
    kind: 'postgres',
    limiter: (limit) =>
      new BatchedRateLimiterPostgres(
        {
          storeClient: unnamedStatements,
          storeType: 'pool',
          tableName,
          tableCreated: true,
          clearExpiredByTimeout: false,
          keyPrefix: checked(limit).keyPrefix,
          points: limit.points,
          duration: limit.duration,
        },
        counters,
      ),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      await pool.end();
    },
  };
}

function checked(limit: LimitOptions): LimitOptions {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(limit.keyPrefix))
    throw new Error(`keyPrefix ${JSON.stringify(limit.keyPrefix)} must be 1-64 letters, digits, _ . : -`);
  if (!Number.isInteger(limit.points) || limit.points < 1)
    throw new Error(`points must be a positive whole number; got ${limit.points}`);
  if (!Number.isInteger(limit.duration) || limit.duration < 1)
    throw new Error(`duration must be a positive whole number of seconds; got ${limit.duration}`);
  return limit;
}

// The same table rate-limiter-flexible would create; two replicas creating it at once could collide on the
// catalog, so creation is serialised by a transaction-scoped advisory lock (safe behind PgBouncer's transaction mode).
async function createTable(pool: pg.Pool, tableName: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('pluct-rate-limit-table'))");
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${tableName}" (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`,
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
