import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../helpers/postgres.js';

describe('the test run PostgreSQL server', () => {
  const dropped: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const drop of dropped) await drop();
  });

  it('hands out separate, empty databases that accept writes', async () => {
    const a = await createTestDatabase('harness_a');
    const b = await createTestDatabase('harness_b');
    dropped.push(a.drop, b.drop);
    expect(a.url).not.toBe(b.url);
    const client = new pg.Client({ connectionString: a.url });
    await client.connect();
    try {
      await client.query('CREATE TABLE t (id int PRIMARY KEY)');
      await client.query('INSERT INTO t VALUES (1)');
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM t');
      expect(rows[0]?.n).toBe('1');
    } finally {
      await client.end();
    }
    const other = new pg.Client({ connectionString: b.url });
    await other.connect();
    try {
      const { rows } = await other.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE tablename = 't'");
      expect(rows[0]?.n).toBe('0');
    } finally {
      await other.end();
    }
  });
});
