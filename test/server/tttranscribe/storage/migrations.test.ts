import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJobDatabase, SQLITE_SCHEMA_VERSION } from '../../../../server/tttranscribe/jobs/database.js';
import { PG_SCHEMA_VERSION } from '../../../../server/tttranscribe/jobs/pg-database.js';
import { openTttStorage } from '../../../../server/tttranscribe/storage.js';
import { createTestDatabase } from '../../../helpers/postgres.js';

async function pgQuery<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('job schema migrations', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ttt-migrations-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('both backends know the same schema version', () => {
    expect(SQLITE_SCHEMA_VERSION).toBe(PG_SCHEMA_VERSION);
  });

  it('SQLite: records each version once, is idempotent, and adopts a database from before schema_version', () => {
    const path = join(dir, 'legacy.db');
    const legacy = new Database(path);
    legacy.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, token_jti TEXT NOT NULL UNIQUE, subject TEXT NOT NULL, url TEXT NOT NULL, language TEXT,
      status TEXT NOT NULL, stage TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error_code TEXT, error_message TEXT, transcript TEXT,
      engine TEXT, model TEXT, request_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, submitted_at INTEGER NOT NULL, started_at INTEGER,
      completed_at INTEGER, updated_at INTEGER NOT NULL) STRICT; CREATE INDEX jobs_by_status ON jobs (status, submitted_at);`);
    legacy.exec(
      `INSERT INTO jobs VALUES ('job_OLD000000001', 'jti', 'u', 'https://x/a.mp3', NULL, 'processing', 'fetching', 0, NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 1, NULL, 1)`,
    );
    legacy.pragma('user_version = 1');
    legacy.close();
    for (let i = 0; i < 2; i++) openJobDatabase(path).close();
    const db = new Database(path);
    expect(db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all()).toEqual([1, 2, 3, 4]);
    expect(db.prepare('SELECT lease_expires_at FROM jobs').pluck().get()).toBeNull(); // an old claim counts as expired
    db.close();
  });

  // Version 3 keyed spent nonces by (key_id, nonce); version 4 by the nonce alone, keeping the latest expiry.
  const V3_NONCES = `DROP TABLE engine_auth_nonces; DELETE FROM schema_version WHERE version = 4;
    CREATE TABLE engine_auth_nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL, expires_at BIGINT NOT NULL,
      PRIMARY KEY (key_id, nonce));
    INSERT INTO engine_auth_nonces VALUES ('old', 'n1', 100), ('new', 'n1', 200), ('new', 'n2', 300);`;

  it('SQLite: version 4 keys spent nonces by the nonce alone, keeping each live one', () => {
    const path = join(dir, 'nonces-v3.db');
    openJobDatabase(path).close();
    const v3 = new Database(path);
    v3.exec(V3_NONCES);
    v3.pragma('user_version = 3');
    v3.close();
    const db = openJobDatabase(path);
    expect(db.prepare('SELECT nonce, expires_at AS e FROM engine_auth_nonces ORDER BY nonce').all()).toEqual([
      { nonce: 'n1', e: 200 },
      { nonce: 'n2', e: 300 },
    ]);
    expect(() => db.prepare("INSERT INTO engine_auth_nonces VALUES ('n1', 1)").run()).toThrow(/UNIQUE/);
    db.close();
  });

  it('PostgreSQL: version 4 keys spent nonces by the nonce alone, keeping each live one', async () => {
    const db = await createTestDatabase('ttt_migrate_nonces');
    try {
      await (await openTttStorage(db.url, { poolMax: 2 })).close();
      await pgQuery(db.url, V3_NONCES);
      await (await openTttStorage(db.url, { poolMax: 2 })).close();
      expect(
        await pgQuery(db.url, 'SELECT nonce, expires_at::int AS e FROM engine_auth_nonces ORDER BY nonce'),
      ).toEqual([
        { nonce: 'n1', e: 200 },
        { nonce: 'n2', e: 300 },
      ]);
      await expect(pgQuery(db.url, "INSERT INTO engine_auth_nonces VALUES ('n1', 1)")).rejects.toThrow(
        /engine_auth_nonces_pkey/,
      );
    } finally {
      await db.drop();
    }
  });

  it('SQLite: a newer schema refuses to start, saying what to run', () => {
    const path = join(dir, 'newer.db');
    openJobDatabase(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, 0)').run();
    db.close();
    expect(() => openJobDatabase(path)).toThrow(
      /TTT_DB: .* schema version 99, newer than this TTTranscribe knows \(4\).*git pull && npm ci/,
    );
  });

  it('PostgreSQL: replicas starting at once migrate once; a restart changes nothing', async () => {
    const db = await createTestDatabase('ttt_migrate');
    try {
      const opened = await Promise.all([1, 2, 3].map(() => openTttStorage(db.url, { poolMax: 2 })));
      await Promise.all(opened.map((s) => s.close()));
      await (await openTttStorage(db.url, { poolMax: 2 })).close();
      expect(
        (await pgQuery<{ version: number }>(db.url, 'SELECT version FROM schema_version ORDER BY version')).map(
          (r) => r.version,
        ),
      ).toEqual([1, 2, 3, 4]);
    } finally {
      await db.drop();
    }
  });

  it('PostgreSQL: a failed migration leaves no partial schema', async () => {
    const db = await createTestDatabase('ttt_migrate_fail');
    try {
      await pgQuery(db.url, 'CREATE TABLE engine_auth_nonces (x int)'); // makes migration 3 fail
      await expect(openTttStorage(db.url, { poolMax: 2 })).rejects.toThrow(
        /TTT_DB: cannot open the PostgreSQL job database .*engine_auth_nonces/,
      );
      const tables = await pgQuery<{ t: string }>(
        db.url,
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      expect(tables.map((r) => r.t)).toEqual(['engine_auth_nonces']);
    } finally {
      await db.drop();
    }
  });

  it('PostgreSQL: a newer schema refuses to start, saying what to run', async () => {
    const db = await createTestDatabase('ttt_migrate_newer');
    try {
      await (await openTttStorage(db.url, { poolMax: 2 })).close();
      await pgQuery(db.url, 'INSERT INTO schema_version (version, applied_at) VALUES (42, 0)');
      await expect(openTttStorage(db.url, { poolMax: 2 })).rejects.toThrow(
        /^TTT_DB: the PostgreSQL database has job schema version 42, newer than this TTTranscribe knows \(4\)\. .*git pull && npm ci/,
      );
    } finally {
      await db.drop();
    }
  });
});
