import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openEngineDatabase } from '../../../../server/business-engine/db/engine-database.js';

// The service_tokens table as schema version 2 created it (before token_digest).
const V2_SERVICE_TOKENS = `
CREATE TABLE users (id TEXT PRIMARY KEY, main INTEGER NOT NULL DEFAULT 0, bonus INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE service_tokens (
  jti TEXT PRIMARY KEY, user_id TEXT NOT NULL, state TEXT NOT NULL, bucket TEXT NOT NULL, charge_entry_id INTEGER NOT NULL,
  request_id TEXT, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, job_id TEXT UNIQUE, submitted_at INTEGER,
  settled_at INTEGER, refund_reason TEXT, updated_at INTEGER NOT NULL
);
INSERT INTO users VALUES ('u1', 0, 2, 1, 1);
INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, issued_at, expires_at, updated_at)
  VALUES ('tok_OLD', 'u1', 'vended', 'bonus', 1, 1, 2, 1);
PRAGMA user_version = 2;
`;

describe('openEngineDatabase', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-db-'));
    dirs.push(dir);
    return join(dir, 'engine.db');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates a new database at the current schema version, with token digests of 32 bytes only', () => {
    const db = openEngineDatabase(scratch());
    expect(db.pragma('user_version', { simple: true })).toBe(6);
    const columns = (db.prepare('PRAGMA table_info(service_tokens)').all() as Array<{ name: string }>).map(
      (c) => c.name,
    );
    expect(columns).toContain('token_digest');
    db.prepare("INSERT INTO users VALUES ('u1', 0, 1, 1, 1)").run();
    db.prepare(
      "INSERT INTO ledger (user_id, kind, bucket, amount, balance_after, reason, created_at) VALUES ('u1', 'grant', 'bonus', 1, 1, 'x', 1)",
    ).run();
    const insert =
      db.prepare(`INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, issued_at, expires_at, updated_at, token_digest)
      VALUES (?, 'u1', 'vended', 'bonus', 1, 1, 2, 1, ?)`);
    expect(() => insert.run('tok_SHORT', Buffer.alloc(16))).toThrow(/CHECK constraint/);
    insert.run('tok_OK', Buffer.alloc(32));
    db.close();
  });

  it('brings a version 2 database up to date, keeping its tokens (without digests: they are verified by signature)', () => {
    const path = scratch();
    const old = new Database(path);
    old.exec(V2_SERVICE_TOKENS);
    old.close();
    const db = openEngineDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(6);
    expect(
      db.prepare("SELECT jti, state, token_digest, submission_key FROM service_tokens WHERE jti = 'tok_OLD'").get(),
    ).toEqual({ jti: 'tok_OLD', state: 'vended', token_digest: null, submission_key: null });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'integration_tokens'").get()).toBeDefined();
    db.close();
    // Opening it again changes nothing (the migration ran once).
    const again = openEngineDatabase(path);
    expect(again.pragma('user_version', { simple: true })).toBe(6);
    again.close();
  });

  it("rebuilds a version 4 database in version 5's leaner tables (now at version 6), keeping every row and id", () => {
    const path = scratch();
    const v4 = openEngineDatabase(path);
    // Back to a version 4 file: the tables as version 4 created them, with rows in each.
    v4.pragma('foreign_keys = OFF');
    v4.exec(`DROP TABLE users; DROP TABLE ledger; DROP TABLE service_tokens; DROP TABLE idempotency_keys;
      CREATE TABLE users (id TEXT PRIMARY KEY, main INTEGER NOT NULL DEFAULT 0 CHECK (main >= 0),
        bonus INTEGER NOT NULL DEFAULT 0 CHECK (bonus >= 0), created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL REFERENCES users(id),
        kind TEXT NOT NULL, bucket TEXT NOT NULL, amount INTEGER NOT NULL, balance_after INTEGER NOT NULL,
        reason TEXT NOT NULL, request_id TEXT, job_id TEXT, token_id TEXT, created_at INTEGER NOT NULL);
      CREATE TABLE service_tokens (jti TEXT PRIMARY KEY, user_id TEXT NOT NULL, state TEXT NOT NULL, bucket TEXT NOT NULL,
        charge_entry_id INTEGER NOT NULL, request_id TEXT, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
        job_id TEXT UNIQUE, submitted_at INTEGER, settled_at INTEGER, refund_reason TEXT, updated_at INTEGER NOT NULL,
        token_digest BLOB, submission_key TEXT);
      CREATE TABLE idempotency_keys (user_id TEXT NOT NULL, client_request_id TEXT NOT NULL, body_hash TEXT NOT NULL,
        state TEXT NOT NULL, token_jti TEXT, response_json TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, client_request_id));
      INSERT INTO users VALUES ('u1', 4, 1, 1, 2);
      INSERT INTO ledger (id, user_id, kind, bucket, amount, balance_after, reason, token_id, created_at)
        VALUES (7, 'u1', 'grant', 'main', 5, 5, 'purchase', NULL, 1), (9, 'u1', 'charge', 'main', -1, 4, 'vend_token', 'tok_A', 2);
      INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, issued_at, expires_at, job_id, updated_at, submission_key)
        VALUES ('tok_A', 'u1', 'submitted', 'main', 9, 2, 3, 'job_1', 2, 'sub_1');
      INSERT INTO idempotency_keys VALUES ('u1', 'k1', 'h', 'done', 'tok_A', '{"ok":true}', 2, 2);
      PRAGMA user_version = 4;`);
    v4.close();

    const db = openEngineDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(6);
    expect(db.prepare('SELECT id, main, bonus FROM users').all()).toEqual([{ id: 'u1', main: 4, bonus: 1 }]);
    expect(db.prepare('SELECT id, token_id FROM ledger ORDER BY id').all()).toEqual([
      { id: 7, token_id: null },
      { id: 9, token_id: 'tok_A' },
    ]);
    expect(db.prepare('SELECT jti, job_id, submission_key FROM service_tokens').get()).toEqual({
      jti: 'tok_A',
      job_id: 'job_1',
      submission_key: 'sub_1',
    });
    expect(db.prepare('SELECT response_json FROM idempotency_keys').get()).toEqual({ response_json: '{"ok":true}' });
    const sql = (name: string) =>
      (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string }).sql;
    for (const table of ['users', 'service_tokens', 'idempotency_keys']) expect(sql(table)).toMatch(/WITHOUT ROWID$/);
    expect(sql('ledger')).not.toMatch(/AUTOINCREMENT/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'idempotency_in_progress'").get()).toBeUndefined();
    // The guards still hold: foreign keys on, the ledger append-only, one job per token, ids only growing.
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(() => db.prepare('DELETE FROM ledger WHERE id = 7').run()).toThrow(/append-only/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, issued_at, expires_at, job_id, updated_at)
          VALUES ('tok_B', 'u1', 'submitted', 'main', 7, 1, 2, 'job_1', 1)`,
        )
        .run(),
    ).toThrow(/UNIQUE constraint failed: service_tokens.job_id/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, issued_at, expires_at, updated_at)
          VALUES ('tok_C', 'nobody', 'vended', 'main', 7, 1, 2, 1)`,
        )
        .run(),
    ).toThrow(/FOREIGN KEY constraint failed/);
    const next = db
      .prepare(
        "INSERT INTO ledger (user_id, kind, bucket, amount, balance_after, reason, created_at) VALUES ('u1', 'grant', 'main', 1, 6, 'x', 3)",
      )
      .run();
    expect(Number(next.lastInsertRowid)).toBe(10);
    db.close();
  });

  it('adds grant_keys to a version 5 database without touching its rows', () => {
    const path = scratch();
    const v5 = openEngineDatabase(path);
    v5.exec(`DROP TABLE grant_keys;
      INSERT INTO users (id, main, bonus, created_at, updated_at) VALUES ('u5', 2, 0, 1, 1);
      PRAGMA user_version = 5;`);
    v5.close();
    const db = openEngineDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(6);
    expect(db.prepare('SELECT id, main FROM users').all()).toEqual([{ id: 'u5', main: 2 }]);
    expect(db.prepare('SELECT count(*) AS n FROM grant_keys').get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses a database from a newer engine', () => {
    const path = scratch();
    const newer = new Database(path);
    newer.pragma('user_version = 99');
    newer.close();
    expect(() => openEngineDatabase(path)).toThrow(
      /schema version 99; this engine knows up to 6\. Run the engine release that wrote it/,
    );
  });
});
