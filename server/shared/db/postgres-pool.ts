import pg from 'pg';

/** BIGINT (epoch ms, ledger ids) as JavaScript numbers: every value the services store is far below 2^53. */
type GetTypeParser = typeof pg.types.getTypeParser;
const types = {
  getTypeParser: ((oid: Parameters<GetTypeParser>[0], format?: Parameters<GetTypeParser>[1]): unknown =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format ?? 'text') as unknown)) as GetTypeParser,
};

/** How a service's pool is shaped; everything else is the same for every pool of the project. */
export interface PgPoolOptions {
  /** Most connections of this pool (ENGINE_DB_POOL_MAX, TTT_DB_POOL_MAX, or a small fixed budget). */
  readonly max: number;
  /** The name the server shows for its connections (pg_stat_activity). */
  readonly applicationName: string;
  /** How long a query waits for a connection before it fails (default 5000 ms). */
  readonly connectionTimeoutMs?: number;
  /** A bound on each query's answer, for a server that accepts but never answers (default none). */
  readonly queryTimeoutMs?: number;
  /** How long an idle connection is kept (default pg's 10 s). */
  readonly idleTimeoutMs?: number;
  /** Told when an idle connection fails (a restart, a failover); the pool discards it and the next query reconnects. */
  readonly onIdleError?: (error: Error) => void;
}

/**
 * The one way the services open a PostgreSQL pool: unnamed statements only (nothing session-scoped, so PgBouncer's
 * transaction mode works), BIGINT as numbers, a bounded wait for a connection, and an idle connection that fails
 * reported instead of crashing the process.
 *
 * @example
 * const pool = createPgPool(url, { max: 10, applicationName: 'tttranscribe', onIdleError: (err) => log.warn({ err }) });
 */
export function createPgPool(url: string, options: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url.trim(),
    max: options.max,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: options.idleTimeoutMs }),
    application_name: options.applicationName,
    types,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}
