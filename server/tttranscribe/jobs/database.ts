import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { newerSchemaError } from './schema-version.js';

/** A better-sqlite3 connection. */
export type JobDatabase = Database.Database;

/**
 * Each migration runs once, in order, in one transaction with its `schema_version` row. Keep them in step with
 * pg-database.ts: the same version number means the same tables on both backends.
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
  // Leases (a worker holds a processing job until lease_expires_at) and the spent X-Engine-Auth nonces (issue 19).
  `ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
   ALTER TABLE jobs ADD COLUMN lease_expires_at INTEGER;
   CREATE INDEX jobs_by_lease ON jobs (lease_expires_at) WHERE status = 'processing';
   CREATE TABLE engine_auth_nonces (
     key_id     TEXT NOT NULL,
     nonce      TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (key_id, nonce)
   ) STRICT, WITHOUT ROWID;
   CREATE INDEX engine_auth_nonces_by_expiry ON engine_auth_nonces (expires_at);`,
  // The nonce alone is the spent-nonce key, whichever key id signed it (a header signed with the old and the new
  // secret must be spent once across replicas accepting different key sets); live entries are carried over.
  `CREATE TABLE engine_auth_nonces_v4 (
     nonce      TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) STRICT, WITHOUT ROWID;
   INSERT INTO engine_auth_nonces_v4 (nonce, expires_at)
     SELECT nonce, MAX(expires_at) FROM engine_auth_nonces GROUP BY nonce;
   DROP TABLE engine_auth_nonces;
   ALTER TABLE engine_auth_nonces_v4 RENAME TO engine_auth_nonces;
   CREATE INDEX engine_auth_nonces_by_expiry ON engine_auth_nonces (expires_at);`,
];

/** The schema version this TTTranscribe knows (the number of migrations). */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

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
 * Brings an open database's schema to the latest version (idempotent; `openJobDatabase` already calls it). The
 * applied versions are rows of `schema_version`; a database from before that table (PRAGMA user_version) is
 * adopted. All pending migrations run in one IMMEDIATE transaction, so a failure leaves the schema as it was and
 * two processes starting at once apply each migration once. A newer schema refuses, saying what to run.
 *
 * @example
 * migrate(db);
 */
export function migrate(db: JobDatabase): void {
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
    );
    let current = db.prepare('SELECT COALESCE(MAX(version), 0) FROM schema_version').pluck().get() as number;
    const legacy = db.pragma('user_version', { simple: true }) as number;
    if (current === 0 && legacy > 0) {
      const adopt = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
      for (let v = 1; v <= legacy; v += 1) adopt.run(v, Date.now());
      current = legacy;
    }
    if (current > MIGRATIONS.length) throw newerSchemaError(current, MIGRATIONS.length, 'the SQLite file');
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    MIGRATIONS.slice(current).forEach((sql, i) => {
      db.exec(sql);
      record.run(current + i + 1, Date.now());
    });
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
