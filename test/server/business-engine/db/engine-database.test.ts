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
    expect(db.pragma('user_version', { simple: true })).toBe(5);
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
    expect(db.pragma('user_version', { simple: true })).toBe(5);
    expect(
      db.prepare("SELECT jti, state, token_digest, submission_key FROM service_tokens WHERE jti = 'tok_OLD'").get(),
    ).toEqual({ jti: 'tok_OLD', state: 'vended', token_digest: null, submission_key: null });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'integration_tokens'").get()).toBeDefined();
    db.close();
    // Opening it again changes nothing (the migration ran once).
    const again = openEngineDatabase(path);
    expect(again.pragma('user_version', { simple: true })).toBe(5);
    again.close();
  });

  it('refuses a database from a newer engine', () => {
    const path = scratch();
    const newer = new Database(path);
    newer.pragma('user_version = 99');
    newer.close();
    expect(() => openEngineDatabase(path)).toThrow(
      /schema version 99; this engine knows up to 5\. Run the engine release that wrote it/,
    );
  });
});
