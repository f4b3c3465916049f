import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** A better-sqlite3 connection. */
export type JobDatabase = Database.Database;

/** Each migration runs once, in order; `PRAGMA user_version` records how many have run. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     id            TEXT PRIMARY KEY,
     token_jti     TEXT NOT NULL UNIQUE,
     subject       TEXT NOT NULL,
     url           TEXT NOT NULL,
     language      TEXT,
     status        TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
     stage         TEXT NOT NULL CHECK (stage IN ('queued', 'fetching', 'decoding', 'transcribing', 'done')),
     progress      REAL NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
     error_code    TEXT,
     error_message TEXT,
     transcript    TEXT,
     engine        TEXT,
     model         TEXT,
     request_id    TEXT,
     attempts      INTEGER NOT NULL DEFAULT 0,
     submitted_at  INTEGER NOT NULL,
     started_at    INTEGER,
     completed_at  INTEGER,
     updated_at    INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX jobs_by_status ON jobs (status, submitted_at);`,
  // The caller's Idempotency-Key (issue 18): one job per key.
  `ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
   CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;`,
];

/**
 * Opens (creating if needed) the job database: WAL journal, synchronous=NORMAL, a busy timeout, and the schema
 * migrated to the latest version. `':memory:'` gives a private in-memory database (tests). The parent directory
 * of a file path is created, so the default `./data/tttranscribe.db` works on a fresh checkout.
 *
 * @example
 * const db = openJobDatabase('./data/tttranscribe.db');
 * // ... createApp(config, { db, ... }); on shutdown: db.close();
 */
export function openJobDatabase(path: string): JobDatabase {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Brings an open database's schema to the latest version (idempotent); `openJobDatabase` already calls it.
 *
 * @example
 * migrate(db);
 */
export function migrate(db: JobDatabase): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`The job database has schema version ${current}, newer than this TTTranscribe knows (${MIGRATIONS.length}).`);
  }
  db.transaction(() => {
    MIGRATIONS.slice(current).forEach((sql) => db.exec(sql));
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
