import type { EngineAuthNonceStore } from './auth/engine-auth-verifier.js';
import { createPgNonceStore, createSqliteNonceStore } from './auth/nonce-stores.js';
import { isPostgresUrl } from '../shared/db/postgres-url.js';
import { openJobDatabase, type JobDatabase } from './jobs/database.js';
import type { JobStore } from './jobs/job-store.js';
import { openPgJobDatabase } from './jobs/pg-database.js';
import { createPgJobStore } from './jobs/pg-job-store.js';
import { createSqliteJobStore } from './jobs/sqlite-job-store.js';

/**
 * Everything TTTranscribe keeps: the jobs and the spent X-Engine-Auth nonces, in one database (SQLite file or
 * PostgreSQL), so every replica and worker on the same database shares both.
 */
export interface TttStorage {
  readonly kind: 'sqlite' | 'postgres';
  readonly jobs: JobStore;
  readonly nonces: EngineAuthNonceStore;
  /** The SQLite connection (SQLite only): checkpoints and tests use it. */
  readonly sqlite?: JobDatabase;
  close(): Promise<void>;
}

/**
 * Storage on an open SQLite connection (the caller may keep using `db`; `close()` closes it).
 *
 * @example
 * const storage = sqliteStorage(openJobDatabase(':memory:'), { now: () => clock.ms });
 */
export function sqliteStorage(db: JobDatabase, options: { now?: () => number } = {}): TttStorage {
  return {
    kind: 'sqlite',
    jobs: createSqliteJobStore(db, options),
    nonces: createSqliteNonceStore(db),
    sqlite: db,
    async close() {
      if (db.open) db.close();
    },
  };
}

/**
 * Opens TTT_DB: a `postgres://` or `postgresql://` URL selects PostgreSQL (a pool of `poolMax` connections), anything
 * else is a SQLite file path. Migrates the schema; refuses (throws, naming TTT_DB, password redacted) when the
 * database is unreachable or newer than this release.
 *
 * @example
 * const storage = await openTttStorage(config.dbPath, { poolMax: config.dbPoolMax });
 * // ... on shutdown: await storage.close();
 */
export async function openTttStorage(
  target: string,
  options: { poolMax: number; now?: () => number },
): Promise<TttStorage> {
  if (!isPostgresUrl(target)) return sqliteStorage(openJobDatabase(target), options);
  const pool = await openPgJobDatabase(target, { max: options.poolMax });
  return {
    kind: 'postgres',
    jobs: createPgJobStore(pool, options),
    nonces: createPgNonceStore(pool),
    close: () => pool.end(),
  };
}
