import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import type { Request, Response } from 'express';
import { startThrowawayCluster, type ThrowawayCluster } from '../../../../scripts/postgres/throwaway-cluster.js';
import { freeLoopbackPort } from '../../../../scripts/net/free-port.js';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import { RateLimits } from '../../../../server/shared/rate-limit/rate-limits.js';
import { isPostgresUrl } from '../../../../server/shared/db/postgres-url.js';
import {
  openDatabaseRateLimiterStore,
  type DatabaseRateLimiterStore,
} from '../../../../server/shared/rate-limit/database-rate-limiter-store.js';
import { createTestDatabase } from '../../../helpers/postgres.js';

/** Consumes one point per call, alternating between the limiters; returns how many were allowed. */
async function allowed(
  limiters: Array<{ consume(key: string): Promise<unknown> }>,
  key: string,
  attempts: number,
): Promise<number> {
  const results = await Promise.all(
    Array.from({ length: attempts }, (_, i) =>
      limiters[i % limiters.length]!.consume(key).then(
        () => true,
        (error: unknown) => {
          if (error instanceof RateLimiterRes) return false;
          throw error;
        },
      ),
    ),
  );
  return results.filter(Boolean).length;
}

describe('the rate-limit store factory', () => {
  it('keeps counters in memory when the service runs on SQLite', async () => {
    const store = await openDatabaseRateLimiterStore({ database: './data/business-engine.db' });
    expect(store.kind).toBe('memory');
    const limiter = store.limiter({ keyPrefix: 'vend', points: 3, duration: 60 });
    expect(limiter).toBeInstanceOf(RateLimiterMemory);
    expect(await allowed([limiter], 'user-1', 5)).toBe(3);
    await store.close();
  });

  it('recognises PostgreSQL URLs only', () => {
    expect(isPostgresUrl('postgres://u@127.0.0.1:5432/db')).toBe(true);
    expect(isPostgresUrl('postgresql://u@db.internal/db')).toBe(true);
    expect(isPostgresUrl('./data/postgres.db')).toBe(false);
    expect(isPostgresUrl(':memory:')).toBe(false);
  });

  it('rejects malformed options before touching a database', async () => {
    await expect(
      openDatabaseRateLimiterStore({ database: ':memory:', tableName: 'rate limits; drop' }),
    ).rejects.toThrow(/tableName/);
    await expect(openDatabaseRateLimiterStore({ database: ':memory:', poolMax: 0 })).rejects.toThrow(/poolMax/);
    const store = await openDatabaseRateLimiterStore({ database: ':memory:' });
    expect(() => store.limiter({ keyPrefix: 'vend', points: 0, duration: 60 })).toThrow(/points/);
    expect(() => store.limiter({ keyPrefix: '', points: 1, duration: 60 })).toThrow(/keyPrefix/);
    await expect(openDatabaseRateLimiterStore({ database: ':memory:', timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
  });

  it('gives up on a server that accepts but never answers, instead of hanging', async () => {
    // A loopback listener that takes connections and says nothing: a host whose PostgreSQL froze.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      await expect(
        openDatabaseRateLimiterStore({ database: `postgres://pluct@127.0.0.1:${port}/frozen`, timeoutMs: 200 }),
      ).rejects.toThrow(/rate-limit table rate_limits could not be created.*timeout/i);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('says why an unreachable PostgreSQL cannot hold the counters, without the password', async () => {
    const port = await freeLoopbackPort();
    const error = await openDatabaseRateLimiterStore({
      database: `postgres://pluct:hunter2-secret@127.0.0.1:${port}/nowhere`,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/rate-limit table rate_limits could not be created.*ECONNREFUSED/);
    expect((error as Error).message).not.toContain('hunter2-secret');
  });
});

describe('the rate-limit store on PostgreSQL: two replicas share one budget', () => {
  let db: { url: string; drop: () => Promise<void> };
  let replicas: DatabaseRateLimiterStore[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('rate_limits');
    // Two replicas starting at the same moment both create the table: neither may fail.
    replicas = await Promise.all(
      [0, 1].map(() => openDatabaseRateLimiterStore({ database: db.url, tableName: 'engine_rate_limits' })),
    );
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await db.drop();
  });

  it('gives N in total per key, not N per replica, and keeps keys and limits apart', async () => {
    expect(replicas.map((r) => r.kind)).toEqual(['postgres', 'postgres']);
    // Handed on as a bare function, as the rate-limit middleware takes its store by injection.
    const stores = replicas.map((r) => r.limiter);
    const vend = stores.map((build) => build({ keyPrefix: 'vend', points: 5, duration: 60 }));
    expect(vend[0]).toBeInstanceOf(RateLimiterPostgres);
    expect(await allowed(vend, 'user-1', 20)).toBe(5);
    // Another user, and another limit for the same user, have budgets of their own.
    expect(await allowed(vend, 'user-2', 4)).toBe(4);
    const transcribe = replicas.map((r) => r.limiter({ keyPrefix: 'transcribe', points: 2, duration: 60 }));
    expect(await allowed(transcribe, 'user-1', 6)).toBe(2);
    // A refusal says when to retry, as the middleware's Retry-After needs.
    const refusal = await vend[1]!.consume('user-1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(RateLimiterRes);
    expect((refusal as RateLimiterRes).msBeforeNext).toBeGreaterThan(0);
    expect((refusal as RateLimiterRes).msBeforeNext).toBeLessThanOrEqual(60_000);
  });

  it("purges expired counters itself every 5 minutes, the library's own purge switched off", async () => {
    const limiter = replicas[0]!.limiter({ keyPrefix: 'purged', points: 5, duration: 60 });
    expect((limiter as unknown as { clearExpiredByTimeout: boolean }).clearExpiredByTimeout).toBe(false);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let store: DatabaseRateLimiterStore | undefined;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      store = await openDatabaseRateLimiterStore({ database: db.url, tableName: 'engine_rate_limits' });
      await client.query("INSERT INTO engine_rate_limits (key, points, expire) VALUES ('purged:old', 1, $1)", [
        Date.now() - 2 * 3_600_000,
      ]);
      vi.advanceTimersByTime(300_000);
      const deadline = Date.now() + 5000;
      let left = 1;
      while (left > 0 && Date.now() < deadline) {
        ({ rowCount: left } = await client
          .query("SELECT 1 FROM engine_rate_limits WHERE key = 'purged:old'")
          .then((r) => ({ rowCount: r.rowCount ?? 0 })));
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(left).toBe(0);
    } finally {
      vi.useRealTimers();
      await store?.close();
      await client.end();
    }
  });

  it('keeps the counters in the configured table', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ key: string; points: number }>(
        'SELECT key, points FROM engine_rate_limits ORDER BY key',
      );
      expect(rows.find((r) => r.key === 'vend:user-1')?.points).toBeGreaterThanOrEqual(5);
      expect(rows.find((r) => r.key === 'transcribe:user-1')?.points).toBeGreaterThanOrEqual(2);
    } finally {
      await client.end();
    }
  });
});

describe('the rate-limit store on PostgreSQL: a database lost mid-run', () => {
  let cluster: ThrowawayCluster;
  let store: DatabaseRateLimiterStore;
  beforeAll(async () => {
    cluster = await startThrowawayCluster();
    store = await openDatabaseRateLimiterStore({ database: await cluster.createDatabase('rl_lost'), timeoutMs: 2000 });
  }, 60_000);
  afterAll(async () => {
    await (store as DatabaseRateLimiterStore | undefined)?.close();
    await (cluster as ThrowawayCluster | undefined)?.stop();
  });

  it('answers 503 service_unavailable with Retry-After while it is gone, and counts again once it is back', async () => {
    const limits = new RateLimits({ read: { limit: 5, windowSec: 60 } }, store.limiter);
    const check = async () => {
      const res = { setHeader: () => res } as unknown as Response;
      let passed = false;
      let error: unknown;
      try {
        await limits.limit('read', () => 'user:a')({} as unknown as Request, res, () => void (passed = true));
      } catch (thrown) {
        error = thrown;
      }
      return { passed, error };
    };
    expect(await check()).toEqual({ passed: true, error: undefined });
    await cluster.pause();
    const down = await check();
    expect(down.passed).toBe(false);
    expect(down.error).toBeInstanceOf(ApiError);
    expect(down.error).toMatchObject({
      code: 'service_unavailable',
      headers: { 'Retry-After': '2' },
      details: { reason: 'database_unavailable' },
    });
    await cluster.resume();
    expect(await check()).toEqual({ passed: true, error: undefined });
  }, 60_000);
});
