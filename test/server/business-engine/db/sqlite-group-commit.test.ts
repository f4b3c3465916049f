import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteGroupCommit } from '../../../../server/business-engine/db/sqlite-group-commit.js';

describe('SqliteGroupCommit', () => {
  let dir: string;
  let db: Database.Database;
  let group: SqliteGroupCommit;
  const rows = () => (db.prepare('SELECT v FROM t ORDER BY v').all() as Array<{ v: string }>).map((r) => r.v);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
    db = new Database(join(dir, 'g.db'));
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE parent (id TEXT PRIMARY KEY);
      CREATE TABLE t (v TEXT PRIMARY KEY);
      CREATE TABLE child (parent_id TEXT REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`);
    group = new SqliteGroupCommit(db);
  });
  afterEach(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the writes of one turn in one transaction, in order, each seeing the ones before it', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const count = db.prepare('SELECT count(*) AS n FROM t');
    const seen: number[] = [];
    const inTransaction: boolean[] = [];
    const results = await Promise.all(
      ['a', 'b', 'c'].map((v) =>
        group.run(() => {
          inTransaction.push(db.inTransaction);
          insert.run(v);
          seen.push((count.get() as { n: number }).n);
          return v.toUpperCase();
        }),
      ),
    );
    expect(results).toEqual(['A', 'B', 'C']);
    expect(seen).toEqual([1, 2, 3]);
    expect(inTransaction).toEqual([true, true, true]);
    expect(rows()).toEqual(['a', 'b', 'c']);
  });

  it('rolls back only the unit that throws and rejects it with its own error; the others commit', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const outcomes = await Promise.allSettled([
      group.run(() => insert.run('a')),
      group.run(() => {
        insert.run('b');
        throw new Error('unit b failed');
      }),
      group.run(() => insert.run('a')), // a primary-key violation: its own error, only its own rollback
      group.run(() => insert.run('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('unit b failed'));
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed: t\.v/);
    expect(rows()).toEqual(['a', 'c']);
    expect(db.inTransaction).toBe(false);
  });

  it('answers nobody before the commit: a commit that fails rejects every unit of the group and writes nothing', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const orphan = db.prepare("INSERT INTO child (parent_id) VALUES ('missing')");
    const outcomes = await Promise.allSettled([
      group.run(() => insert.run('a')),
      group.run(() => orphan.run()), // checked only at COMMIT (a deferred foreign key): the commit fails
      group.run(() => insert.run('b')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const o of outcomes) expect(String((o as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY constraint/);
    expect(rows()).toEqual([]);
    expect(db.inTransaction).toBe(false);
    // The next group works as usual.
    await group.run(() => insert.run('c'));
    expect(rows()).toEqual(['c']);
  });

  it('rejects every unit, running none, when the transaction cannot begin (another connection holds the write lock)', async () => {
    const other = new Database(join(dir, 'g.db'));
    other.pragma('busy_timeout = 0');
    db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    let ran = 0;
    const outcomes = await Promise.allSettled([group.run(() => (ran += 1)), group.run(() => (ran += 1))]);
    other.exec('ROLLBACK');
    other.close();
    expect(ran).toBe(0);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/database is locked/);
  });

  it('splits a long queue into groups of at most maxBatch, each committed before its units are answered', async () => {
    const small = new SqliteGroupCommit(db, { maxBatch: 2 });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const committedWhenAnswered: number[] = [];
    const count = db.prepare('SELECT count(*) AS n FROM t');
    await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((v) =>
        small
          .run(() => insert.run(v))
          .then(() => {
            expect(db.inTransaction).toBe(false);
            committedWhenAnswered.push((count.get() as { n: number }).n);
          }),
      ),
    );
    expect(committedWhenAnswered).toEqual([2, 2, 4, 4, 5]);
  });
});
