import pg from 'pg';
import { createPgPool } from '../../shared/db/postgres-pool.js';
import { describeDatabaseError, redactDatabaseUrl } from '../../shared/db/postgres-url.js';
import { newerSchemaError } from './schema-version.js';

/**
 * The PostgreSQL migrations, one per schema version, in step with database.ts (the same number means the same
 * tables on both backends).
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     id            TEXT PRIMARY KEY,
     token_jti     TEXT NOT NULL UNIQUE,
     subject       TEXT NOT NULL,
     url           TEXT NOT NULL,
     language      TEXT,
     status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
     stage         TEXT NOT NULL CHECK (stage IN ('queued', 'fetching', 'decoding', 'transcribing', 'done')),
     progress      DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
     error_code    TEXT,
     error_message TEXT,
     transcript    TEXT,
     engine        TEXT,
     model         TEXT,
     request_id    TEXT,
     attempts      INTEGER NOT NULL DEFAULT 0,
     submitted_at  BIGINT NOT NULL,
     started_at    BIGINT,
     completed_at  BIGINT,
     updated_at    BIGINT NOT NULL
   );
   CREATE INDEX jobs_by_status ON jobs (status, submitted_at);`,
  `ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
   CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;`,
  `ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
   ALTER TABLE jobs ADD COLUMN lease_expires_at BIGINT;
   CREATE INDEX jobs_by_lease ON jobs (lease_expires_at) WHERE status = 'processing';
   CREATE TABLE engine_auth_nonces (
     key_id     TEXT NOT NULL,
     nonce      TEXT NOT NULL,
     expires_at BIGINT NOT NULL,
     PRIMARY KEY (key_id, nonce)
   );
   CREATE INDEX engine_auth_nonces_by_expiry ON engine_auth_nonces (expires_at);`,
  // The nonce alone is the spent-nonce key, whichever key id signed it (a header signed with the old and the new
  // secret must be spent once across replicas accepting different key sets); live entries are carried over.
  `CREATE TABLE engine_auth_nonces_v4 (
     nonce      TEXT NOT NULL,
     expires_at BIGINT NOT NULL,
     CONSTRAINT engine_auth_nonces_v4_pkey PRIMARY KEY (nonce)
   );
   INSERT INTO engine_auth_nonces_v4 (nonce, expires_at)
     SELECT nonce, MAX(expires_at) FROM engine_auth_nonces GROUP BY nonce;
   DROP TABLE engine_auth_nonces;
   ALTER TABLE engine_auth_nonces_v4 RENAME TO engine_auth_nonces;
   ALTER TABLE engine_auth_nonces RENAME CONSTRAINT engine_auth_nonces_v4_pkey TO engine_auth_nonces_pkey;
   CREATE INDEX engine_auth_nonces_by_expiry ON engine_auth_nonces (expires_at);`,
];

/** The schema version this TTTranscribe knows. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;
/** Any fixed number: the transaction-scoped advisory lock that serialises migrations of replicas starting at once. */
const MIGRATION_LOCK = 7_311_190_019;

/**
 * Opens a pool on TTT_DB (a `postgres://` URL) and migrates the schema; refuses to start, naming TTT_DB (password
 * redacted) and the cause, when the server cannot be reached or the schema is newer than this release. Nothing
 * session-scoped is used (unnamed statements, transaction-scoped advisory locks), so PgBouncer in transaction mode
 * works. Idle connections that break (server restarted) are dropped by the pool, not thrown.
 *
 * @example
 * const pool = await openPgJobDatabase('postgres://ttt@db.internal/ttt', { max: 10 });
 */
export async function openPgJobDatabase(
  url: string,
  options: { max: number; connectionTimeoutMs?: number },
): Promise<pg.Pool> {
  const pool = createPgPool(url, {
    max: options.max,
    applicationName: 'tttranscribe',
    idleTimeoutMs: 30_000,
    ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeoutMs: options.connectionTimeoutMs }),
  });
  try {
    await migratePg(pool);
    return pool;
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof Error && error.message.startsWith('TTT_DB:')) throw error;
    throw new Error(
      `TTT_DB: cannot open the PostgreSQL job database at ${redactDatabaseUrl(url)}: ${describeDatabaseError(error, url)}`,
      { cause: error },
    );
  }
}

/**
 * Applies the pending migrations in ONE transaction under `pg_advisory_xact_lock`: replicas starting at once apply
 * each version once, a failed migration rolls back whole (PostgreSQL DDL is transactional), and each applied
 * version is a row of `schema_version`. Idempotent.
 *
 * @example
 * await migratePg(pool);
 */
async function migratePg(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const { rows } = await client.query<{ v: number }>(
      'SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_version',
    );
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) throw newerSchemaError(current, MIGRATIONS.length, 'the PostgreSQL database');
    for (const [i, sql] of MIGRATIONS.slice(current).entries()) {
      await client.query(sql);
      await client.query('INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)', [
        current + i + 1,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
