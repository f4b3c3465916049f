import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** The engine's SQLite handle (better-sqlite3). */
export type EngineDatabase = Database.Database;

// 2: integration_tokens. 3: service_tokens.token_digest. 4: service_tokens.submission_key. 5: leaner tables for
// the vend's write (see SCHEMA_5). 6: grant_keys (idempotent admin grants).
const SCHEMA_VERSION = 6;

// The ledger is append-only (triggers) and each token's charge and refund are unique (partial indexes), so a
// credit can never be refunded twice even if two code paths race to do it.
// integration_tokens holds only the SHA-256 of each token: a copy of the database cannot be used to call the engine.
// service_tokens.token_digest is no longer written (every token's signature is verified: one path); kept for old files.
const SCHEMA_4 = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  main INTEGER NOT NULL DEFAULT 0 CHECK (main >= 0),
  bonus INTEGER NOT NULL DEFAULT 0 CHECK (bonus >= 0),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'charge', 'refund')),
  bucket TEXT NOT NULL CHECK (bucket IN ('main', 'bonus')),
  amount INTEGER NOT NULL CHECK (amount <> 0),
  balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
  reason TEXT NOT NULL,
  request_id TEXT,
  job_id TEXT,
  token_id TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_by_user ON ledger (user_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_charge_per_token ON ledger (token_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_refund_per_token ON ledger (token_id) WHERE kind = 'refund';
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_signup_bonus ON ledger (user_id) WHERE reason = 'signup_bonus';
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS service_tokens (
  jti TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  state TEXT NOT NULL CHECK (state IN ('vended', 'submitting', 'submitted', 'consumed', 'refunded')),
  bucket TEXT NOT NULL CHECK (bucket IN ('main', 'bonus')),
  charge_entry_id INTEGER NOT NULL REFERENCES ledger(id),
  request_id TEXT,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  job_id TEXT UNIQUE,
  submitted_at INTEGER,
  settled_at INTEGER,
  refund_reason TEXT,
  updated_at INTEGER NOT NULL,
  token_digest BLOB CHECK (token_digest IS NULL OR length(token_digest) = 32),
  submission_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS service_tokens_by_submission_key ON service_tokens (submission_key);
CREATE INDEX IF NOT EXISTS service_tokens_by_state ON service_tokens (state, expires_at);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id TEXT NOT NULL,
  client_request_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
  token_jti TEXT,
  response_json TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, client_request_id)
);
CREATE INDEX IF NOT EXISTS idempotency_in_progress ON idempotency_keys (state, created_at);
CREATE TABLE IF NOT EXISTS integration_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  description TEXT NOT NULL,
  scopes TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS integration_tokens_by_user ON integration_tokens (user_id, created_at);
`;

/**
 * Opens (creating if needed) the engine's SQLite database: WAL, synchronous=NORMAL, foreign keys, a busy
 * timeout, and the schema. Pass ':memory:' for tests.
 *
 * @example
 * const db = openEngineDatabase(config.dbPath);
 * // ... on shutdown
 * db.close();
 */
export function openEngineDatabase(path: string): EngineDatabase {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new Error(
      `${path} has schema version ${version}; this engine knows up to ${SCHEMA_VERSION}. Run the engine release that wrote it (or a newer one).`,
    );
  }
  if (version < SCHEMA_VERSION) {
    // Rebuilding tables that others reference needs the foreign keys off (outside any transaction); the copies
    // keep every row and id as they were, so what the keys guarded before still holds.
    db.pragma('foreign_keys = OFF');
    db.transaction(() => {
      // An existing database is brought up to version 4 first; SCHEMA_4 then adds the tables it lacks (all of them on a
      // new file), and SCHEMA_5 rebuilds them in their current shape.
      if (version < 5) {
        for (const [from, step] of MIGRATIONS) if (version > 0 && version < from) db.exec(step);
        db.exec(SCHEMA_4);
        db.exec(SCHEMA_5);
      }
      db.exec(SCHEMA_6);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
  db.pragma('foreign_keys = ON');
  return db;
}

/*
 * Version 5: every vend writes a user, a ledger row, a token and an idempotency key in one transaction, and its
 * commit writes each b-tree page it touched to the WAL. Fewer b-trees per row is the cheapest vend:
 * - users, service_tokens, idempotency_keys WITHOUT ROWID: the table is its primary key's b-tree (no second one).
 * - the ledger without AUTOINCREMENT: no sqlite_sequence row to update per entry; it is append-only (triggers), so
 *   an id is never reused and ids still only grow (LedgerTail relies on it).
 * - service_tokens' job_id and submission_key unique only where set (partial indexes): a vend writes neither.
 * - idempotency_keys loses its index on state: every key is written with its answer ('done').
 */
const SCHEMA_5 = `
CREATE TABLE users_5 (
  id TEXT PRIMARY KEY,
  main INTEGER NOT NULL DEFAULT 0 CHECK (main >= 0),
  bonus INTEGER NOT NULL DEFAULT 0 CHECK (bonus >= 0),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO users_5 (id, main, bonus, created_at, updated_at) SELECT id, main, bonus, created_at, updated_at FROM users;
CREATE TABLE ledger_5 (
  id INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'charge', 'refund')),
  bucket TEXT NOT NULL CHECK (bucket IN ('main', 'bonus')),
  amount INTEGER NOT NULL CHECK (amount <> 0),
  balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
  reason TEXT NOT NULL,
  request_id TEXT,
  job_id TEXT,
  token_id TEXT,
  created_at INTEGER NOT NULL
);
INSERT INTO ledger_5 (id, user_id, kind, bucket, amount, balance_after, reason, request_id, job_id, token_id, created_at)
  SELECT id, user_id, kind, bucket, amount, balance_after, reason, request_id, job_id, token_id, created_at FROM ledger;
CREATE TABLE service_tokens_5 (
  jti TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  state TEXT NOT NULL CHECK (state IN ('vended', 'submitting', 'submitted', 'consumed', 'refunded')),
  bucket TEXT NOT NULL CHECK (bucket IN ('main', 'bonus')),
  charge_entry_id INTEGER NOT NULL REFERENCES ledger(id),
  request_id TEXT,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  job_id TEXT,
  submitted_at INTEGER,
  settled_at INTEGER,
  refund_reason TEXT,
  updated_at INTEGER NOT NULL,
  token_digest BLOB CHECK (token_digest IS NULL OR length(token_digest) = 32),
  submission_key TEXT
) WITHOUT ROWID;
INSERT INTO service_tokens_5 (jti, user_id, state, bucket, charge_entry_id, request_id, issued_at, expires_at, job_id,
    submitted_at, settled_at, refund_reason, updated_at, token_digest, submission_key)
  SELECT jti, user_id, state, bucket, charge_entry_id, request_id, issued_at, expires_at, job_id,
    submitted_at, settled_at, refund_reason, updated_at, token_digest, submission_key FROM service_tokens;
CREATE TABLE idempotency_keys_5 (
  user_id TEXT NOT NULL,
  client_request_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
  token_jti TEXT,
  response_json TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, client_request_id)
) WITHOUT ROWID;
INSERT INTO idempotency_keys_5 SELECT user_id, client_request_id, body_hash, state, token_jti, response_json,
  created_at, updated_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
DROP TABLE service_tokens;
DROP TABLE ledger;
DROP TABLE users;
ALTER TABLE users_5 RENAME TO users;
ALTER TABLE ledger_5 RENAME TO ledger;
ALTER TABLE service_tokens_5 RENAME TO service_tokens;
ALTER TABLE idempotency_keys_5 RENAME TO idempotency_keys;
CREATE INDEX ledger_by_user ON ledger (user_id, id);
CREATE UNIQUE INDEX ledger_one_charge_per_token ON ledger (token_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_one_refund_per_token ON ledger (token_id) WHERE kind = 'refund';
CREATE UNIQUE INDEX ledger_one_signup_bonus ON ledger (user_id) WHERE reason = 'signup_bonus';
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE UNIQUE INDEX service_tokens_by_job ON service_tokens (job_id) WHERE job_id IS NOT NULL;
CREATE UNIQUE INDEX service_tokens_by_submission_key ON service_tokens (submission_key) WHERE submission_key IS NOT NULL;
CREATE INDEX service_tokens_by_state ON service_tokens (state, expires_at);
`;

/**
 * Version 6: a grant with a clientRequestId happens once. The key, the body's hash, the ledger entry it wrote and
 * the balance it left (for the replayed answer).
 */
const SCHEMA_6 = `
CREATE TABLE IF NOT EXISTS grant_keys (
  client_request_id TEXT PRIMARY KEY,
  body_hash TEXT NOT NULL,
  entry_id INTEGER NOT NULL REFERENCES ledger(id),
  main INTEGER NOT NULL,
  bonus INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Changes to existing tables, each run once on a database whose version is below its own. */
const MIGRATIONS: ReadonlyArray<readonly [version: number, sql: string]> = [
  [
    3,
    'ALTER TABLE service_tokens ADD COLUMN token_digest BLOB CHECK (token_digest IS NULL OR length(token_digest) = 32)',
  ],
  // SQLite cannot add a UNIQUE column: the unique index does the same.
  [
    4,
    `ALTER TABLE service_tokens ADD COLUMN submission_key TEXT;
       CREATE UNIQUE INDEX IF NOT EXISTS service_tokens_by_submission_key ON service_tokens (submission_key)`,
  ],
];
