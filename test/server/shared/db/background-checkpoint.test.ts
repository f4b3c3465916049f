import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startBackgroundCheckpoint } from '../../../../server/shared/db/background-checkpoint.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function walDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'pluct-ckpt-'));
  dirs.push(dir);
  const path = join(dir, 'test.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0'); // only the background thread may checkpoint in this test
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  return { db, path };
}

const until = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('startBackgroundCheckpoint', () => {
  it('copies committed pages from the WAL into the database file from its own thread', async () => {
    const { db, path } = walDatabase();
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run('x'.repeat(200));
    })();
    const before = statSync(path).size;
    const checkpoint = startBackgroundCheckpoint({ path, intervalMs: 20, logger: pino({ level: 'silent' }) });
    try {
      await until(() => statSync(path).size > before + 300_000);
      // Nothing is left to copy: a checkpoint now finds every frame already in the database.
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
      expect(result?.checkpointed).toBe(result?.log);
    } finally {
      await checkpoint?.stop();
      db.close();
    }
  });

  it('does nothing for an in-memory database and rejects a bad interval when built', () => {
    expect(startBackgroundCheckpoint({ path: ':memory:', logger: pino({ level: 'silent' }) })).toBeUndefined();
    expect(() =>
      startBackgroundCheckpoint({ path: '/tmp/x.db', intervalMs: 0, logger: pino({ level: 'silent' }) }),
    ).toThrow(/interval/);
  });
});
