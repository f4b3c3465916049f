import type pg from 'pg';
import { createPgPool } from '../../shared/db/postgres-pool.js';
import type { Logger } from 'pino';
import { isConnectionFailure, isRetryableConflict, postgresFailure } from './postgres-errors.js';

/** How often a transaction that hit a deadlock or a serialization failure is run again. */
const TRANSACTION_ATTEMPTS = 5;

/**
 * The engine's pg Pool (see {@link createPgPool}): at most `poolMax` connections, an idle connection that fails logged.
 *
 * @example
 * const pool = createEnginePool(url, { poolMax: 10, logger });
 */
export function createEnginePool(
  url: string,
  options: { poolMax: number; connectionTimeoutMs?: number; logger?: Logger },
): pg.Pool {
  return createPgPool(url, {
    max: options.poolMax,
    applicationName: 'business-engine',
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeoutMs: options.connectionTimeoutMs }),
    onIdleError: (error) => options.logger?.warn({ err: error }, 'an idle PostgreSQL connection failed'),
  });
}

/**
 * One statement on the pool (an unnamed statement: no session state), failures translated at the boundary.
 *
 * @example
 * const { rows } = await runQuery(pool, 'read the job', 'SELECT * FROM service_tokens WHERE job_id = $1', [jobId]);
 */
export async function runQuery<R extends pg.QueryResultRow = Record<string, unknown>>(
  pool: pg.Pool,
  what: string,
  sql: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(sql, values);
  } catch (error) {
    throw postgresFailure(what, error);
  }
}

/**
 * Runs `work` in one transaction on one pooled connection (BEGIN ... COMMIT, ROLLBACK on any error), again as a
 * whole on a deadlock or serialization failure; a connection that failed is discarded, not returned to the pool.
 *
 * @example
 * await runTransaction(pool, 'grant credits', async (client) => { ... });
 */
export async function runTransaction<T>(
  pool: pg.Pool,
  what: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw postgresFailure(what, error);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionFailure(error);
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      if (isRetryableConflict(error) && attempt < TRANSACTION_ATTEMPTS) continue;
      throw postgresFailure(what, error);
    } finally {
      client.release(broken);
    }
  }
}
