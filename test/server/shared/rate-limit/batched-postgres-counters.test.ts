import pg from 'pg';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BatchedCounters,
  BatchedRateLimiterPostgres,
} from '../../../../server/shared/rate-limit/batched-postgres-counters.js';
import { openDatabaseRateLimiterStore } from '../../../../server/shared/rate-limit/database-rate-limiter-store.js';
import { createTestDatabase } from '../../../helpers/postgres.js';

/*
 * On PostgreSQL the rate limits count one event-loop turn's requests with one statement. Each caller must still see
 * exactly what rate-limiter-flexible would have shown it had the requests been counted one by one.
 */
const TABLE = 'batched_limits';
let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let statements = 0;
let counters: BatchedCounters;

beforeAll(async () => {
  db = await createTestDatabase('batched_limits');
  // The store creates the counters' table as a service does at start.
  await (await openDatabaseRateLimiterStore({ database: db.url, tableName: TABLE })).close();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  counters = new BatchedCounters((text, values) => {
    statements += 1;
    return pool.query(text, values);
  }, TABLE);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});
afterEach(() => {
  vi.useRealTimers();
});

const limiterOf = (keyPrefix: string, points: number, duration = 60) =>
  new BatchedRateLimiterPostgres(
    {
      storeClient: { query: (q: { text: string; values?: unknown[] }) => pool.query(q.text, q.values) },
      storeType: 'pool',
      tableName: TABLE,
      tableCreated: true,
      keyPrefix,
      points,
      duration,
    },
    counters,
  );

/** What a caller learns from one consume, allowed or refused. */
async function seen(limiter: RateLimiterAbstract, key: string) {
  const res = await limiter.consume(key).then(
    (r) => ({ allowed: true, r }),
    (e: unknown) => {
      if (!(e instanceof RateLimiterRes)) throw e;
      return { allowed: false, r: e };
    },
  );
  return {
    allowed: res.allowed,
    consumed: res.r.consumedPoints,
    remaining: res.r.remainingPoints,
    first: res.r.isFirstInDuration,
  };
}

describe('rate limits counted a turn at a time on PostgreSQL', () => {
  it('answers every caller as rate-limiter-flexible does one by one, with one statement per turn', async () => {
    const batched = [limiterOf('vend', 4), limiterOf('read', 6)];
    const memory = [
      new RateLimiterMemory({ keyPrefix: 'vend', points: 4, duration: 60 }),
      new RateLimiterMemory({ keyPrefix: 'read', points: 6, duration: 60 }),
    ];
    // Three turns of mixed callers: keys repeat within a turn, across turns and across limits.
    const turns = [
      ['u1', 'u2', 'u1', 'u1', 'u3', 'u1'],
      ['u1', 'u2', 'u2', 'u1', 'u3', 'u3', 'u3'],
      ['u2', 'u2', 'u2', 'u1', 'u4'],
    ];
    for (const turn of turns) {
      const before = statements;
      const calls = turn.flatMap((key, i) => [i % 2, 1 - (i % 2)].map((l) => ({ l, key })));
      const got = await Promise.all(calls.map(({ l, key }) => seen(batched[l]!, key)));
      expect(statements - before).toBe(1);
      const want = [];
      for (const { l, key } of calls) want.push(await seen(memory[l]!, key));
      expect(got).toEqual(want);
    }
  });

  it('answers consumes of several points, penalties and rewards in one turn as the library does one by one', async () => {
    type Op = 'consume3' | 'penalty' | 'reward' | 'consume';
    const run = async (limiter: RateLimiterAbstract, op: Op, key: string) => {
      const res = await (
        op === 'consume3'
          ? limiter.consume(key, 3)
          : op === 'penalty'
            ? limiter.penalty(key, 2)
            : op === 'reward'
              ? limiter.reward(key, 1)
              : limiter.consume(key)
      ).then(
        (r) => ({ allowed: true, r }),
        (e: unknown) => {
          if (!(e instanceof RateLimiterRes)) throw e;
          return { allowed: false, r: e };
        },
      );
      return { allowed: res.allowed, consumed: res.r.consumedPoints, remaining: res.r.remainingPoints };
    };
    const batched = limiterOf('mixed', 10);
    const memory = new RateLimiterMemory({ keyPrefix: 'mixed', points: 10, duration: 60 });
    const ops: Op[] = ['consume3', 'penalty', 'reward', 'consume', 'consume3', 'reward', 'penalty', 'consume3'];
    for (const keys of [
      ['m1', 'm2'],
      ['m1', 'm1', 'm2'],
    ]) {
      const calls = ops.map((op, i) => ({ op, key: keys[i % keys.length] as string }));
      const got = await Promise.all(calls.map(({ op, key }) => run(batched, op, key)));
      const want = [];
      for (const { op, key } of calls) want.push(await run(memory, op, key));
      expect(got).toEqual(want);
    }
  });

  it('restarts a window that ended, for the callers of the turn that finds it ended (frozen clock)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.UTC(2026, 0, 1);
    vi.setSystemTime(t0);
    const limiter = limiterOf('window', 3, 60);
    const first = await Promise.all(Array.from({ length: 5 }, () => seen(limiter, 'w1')));
    expect(first.map((s) => s.allowed)).toEqual([true, true, true, false, false]);

    vi.setSystemTime(t0 + 61_000);
    const next = await Promise.all(Array.from({ length: 4 }, () => seen(limiter, 'w1')));
    expect(next).toEqual([
      { allowed: true, consumed: 1, remaining: 2, first: true },
      { allowed: true, consumed: 2, remaining: 1, first: false },
      { allowed: true, consumed: 3, remaining: 0, first: false },
      { allowed: false, consumed: 4, remaining: 0, first: false },
    ]);
    const { rows } = await pool.query<{ expire: string }>(`SELECT expire FROM ${TABLE} WHERE key = 'window:w1'`);
    expect(Number(rows[0]?.expire)).toBe(t0 + 61_000 + 60_000);
  });

  it('keeps the library own forced writes: a blocked key is refused until the block ends', async () => {
    const limiter = limiterOf('blocked', 100);
    await limiter.block('b1', 30);
    const refusal = await limiter.consume('b1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(RateLimiterRes);
    expect((refusal as RateLimiterRes).msBeforeNext).toBeGreaterThan(25_000);
    expect(await seen(limiter, 'b2')).toMatchObject({ allowed: true, consumed: 1 });
  });

  it('never deadlocks two replicas whose turns count the same keys in opposite orders', async () => {
    const otherPool = new pg.Pool({ connectionString: db.url, max: 2 });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      let sent = 0;
      const counting = (target: pg.Pool) => (text: string, values: unknown[]) => {
        sent += 1;
        return target.query(text, values);
      };
      const mine = new BatchedCounters(counting(pool), TABLE);
      const other = new BatchedCounters(counting(otherPool), TABLE);
      const keys = Array.from({ length: 40 }, (_, i) => `order:${String(i).padStart(2, '0')}`);
      await Promise.all(keys.map((key) => mine.add({ key, points: 1, expire: null })));
      // A third session holds a key in the middle, so both turns are mid-way through their keys when it lets go.
      await holder.query('BEGIN');
      await holder.query(`SELECT key FROM ${TABLE} WHERE key = $1 FOR UPDATE`, [keys[20]]);
      const turn = Promise.allSettled([
        ...keys.map((key) => mine.add({ key, points: 1, expire: null })),
        ...[...keys].reverse().map((key) => other.add({ key, points: 1, expire: null })),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await holder.query('ROLLBACK');
      expect((await turn).filter((r) => r.status === 'rejected')).toEqual([]);
      // One statement for the first turn, one per replica for the second: none was sent again after a deadlock.
      expect(sent).toBe(3);
      const { rows } = await pool.query<{ points: number }>(`SELECT points FROM ${TABLE} WHERE key LIKE 'order:%'`);
      expect(rows.map((r) => r.points)).toEqual(keys.map(() => 3));
    } finally {
      await holder.end();
      await otherPool.end();
    }
  });

  it('fails only the callers of a key the database refuses, and counts the others of the turn', async () => {
    const results = await Promise.allSettled([
      counters.add({ key: 'fine:a', points: 1, expire: null }),
      counters.add({ key: 'nul:\u0000', points: 1, expire: null }),
      counters.add({ key: 'fine:a', points: 2, expire: null }),
      counters.add({ key: 'fine:b', points: 1, expire: null }),
    ]);
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value.points : (r.reason as { code?: string }).code)),
    ).toEqual([1, '22021', 3, 1]);
  });

  it('purges counters whose window ended over an hour ago, skipping rows in use instead of waiting', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    for (const [key, expire] of [
      ['purge:old', t0 - 3_600_001],
      ['purge:held', t0 - 3_600_001],
      ['purge:recent', t0 - 60_000],
      ['purge:open', t0 + 60_000],
    ] as const) {
      await pool.query(`INSERT INTO ${TABLE} (key, points, expire) VALUES ($1, 1, $2)`, [key, expire]);
    }
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT key FROM ${TABLE} WHERE key = 'purge:held' FOR UPDATE`);
      expect(await counters.purgeExpired(t0)).toBe(1);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    const left = await pool.query<{ key: string }>(`SELECT key FROM ${TABLE} WHERE key LIKE 'purge:%' ORDER BY key`);
    expect(left.rows.map((r) => r.key)).toEqual(['purge:held', 'purge:open', 'purge:recent']);
    expect(await counters.purgeExpired(t0)).toBe(1);
  });

  it('sends a turn again after a deadlock (a failed statement applied nothing)', async () => {
    let calls = 0;
    const flaky = new BatchedCounters((text, values) => {
      calls += 1;
      if (calls === 1) return Promise.reject(Object.assign(new Error('TEST-ONLY deadlock'), { code: '40P01' }));
      return pool.query(text, values);
    }, TABLE);
    const rows = await Promise.all([1, 2].map(() => flaky.add({ key: 'retry:a', points: 1, expire: null })));
    expect(rows.map((r) => r.points)).toEqual([1, 2]);
    expect(calls).toBe(2);
  });

  it('stops sending keys one by one once the database is gone, failing the rest with that', async () => {
    const sent: string[][] = [];
    const dying = new BatchedCounters((_text, values) => {
      sent.push(values[0] as string[]);
      const error =
        sent.length === 1
          ? Object.assign(new Error('TEST-ONLY bad value'), { code: '22021' })
          : Object.assign(new Error('TEST-ONLY gone'), { code: '57P01' });
      return Promise.reject(error);
    }, TABLE);
    const results = await Promise.allSettled(
      ['k1', 'k2', 'k3', 'k4'].map((key) => dying.add({ key, points: 1, expire: null })),
    );
    // The turn, then k1 alone (the database is gone): k2-k4 are not sent, each would have waited its timeout.
    expect(sent).toEqual([['k1', 'k2', 'k3', 'k4'], ['k1']]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual([
      '57P01',
      '57P01',
      '57P01',
      '57P01',
    ]);
  });

  it('fails every caller of a turn whose statement failed, with the database error', async () => {
    const broken = new BatchedCounters(
      () => Promise.reject(Object.assign(new Error('gone'), { code: '57P01' })),
      TABLE,
    );
    const results = await Promise.allSettled([1, 2, 3].map(() => broken.add({ key: 'k', points: 1, expire: null })));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual([
      '57P01',
      '57P01',
      '57P01',
    ]);
  });
});
