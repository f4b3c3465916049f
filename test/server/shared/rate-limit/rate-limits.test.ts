import type { Request, Response } from 'express';
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import { RateLimits } from '../../../../server/shared/rate-limit/rate-limits.js';
import type { LimiterOptions, RateLimiterStore } from '../../../../server/shared/rate-limit/rate-limiter-store.js';

/** Runs one request through the middleware: the headers it set, and the error it passed on (if any). */
async function pass(limits: RateLimits, policy: string, key: string) {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string) => {
      headers[name] = value;
    },
  } as unknown as Response;
  let nextCalled = false;
  let error: unknown;
  try {
    await limits.limit(policy, () => key)({} as unknown as Request, res, () => {
      nextCalled = true;
    });
  } catch (thrown) {
    error = thrown;
  }
  return { headers, nextCalled, error };
}

describe('RateLimits', () => {
  it('lets `limit` requests per caller through with the draft RateLimit headers, then answers rate_limited', async () => {
    const limits = new RateLimits({ read: { limit: 2, windowSec: 60 } });
    const first = await pass(limits, 'read', 'user:a');
    expect(first.nextCalled).toBe(true);
    expect(first.headers['RateLimit-Policy']).toBe('"read";q=2;w=60');
    expect(first.headers['RateLimit']).toMatch(/^"read";r=1;t=\d+$/);
    expect((await pass(limits, 'read', 'user:a')).headers['RateLimit']).toMatch(/^"read";r=0;t=\d+$/);
    const refused = await pass(limits, 'read', 'user:a');
    expect(refused.nextCalled).toBe(false);
    expect(refused.error).toBeInstanceOf(ApiError);
    const error = refused.error as ApiError;
    expect(error.code).toBe('rate_limited');
    expect(error.details).toMatchObject({ limit: 2, windowSec: 60 });
    const retryAfter = Number(error.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.details['retryAfterSec']).toBe(retryAfter);
    expect(refused.headers['RateLimit']).toBe(`"read";r=0;t=${retryAfter}`);
  });

  it('counts each caller and each policy apart', async () => {
    const limits = new RateLimits({ read: { limit: 1, windowSec: 60 }, vend: { limit: 1, windowSec: 60 } });
    expect((await pass(limits, 'read', 'user:a')).nextCalled).toBe(true);
    expect((await pass(limits, 'read', 'user:b')).nextCalled).toBe(true);
    expect((await pass(limits, 'vend', 'user:a')).nextCalled).toBe(true);
    expect((await pass(limits, 'read', 'user:a')).error).toMatchObject({ code: 'rate_limited' });
  });

  it('builds every limiter from the injected store, one per policy, with its allowance and window', async () => {
    const built: LimiterOptions[] = [];
    const store: RateLimiterStore = (options) => {
      built.push(options);
      return new RateLimiterMemory({ ...options });
    };
    const limits = new RateLimits({ read: { limit: 5, windowSec: 60 }, admin: { limit: 7, windowSec: 30 } }, store);
    expect(built).toEqual([
      { keyPrefix: 'rl:read', points: 5, duration: 60 },
      { keyPrefix: 'rl:admin', points: 7, duration: 30 },
    ]);
    expect((await pass(limits, 'admin', 'admin')).headers['RateLimit-Policy']).toBe('"admin";q=7;w=30');
  });

  it('answers a lost store database with a retryable service_unavailable and Retry-After, never rate_limited', async () => {
    const lost = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const failing =
      (error: Error): RateLimiterStore =>
      () =>
        ({ consume: () => Promise.reject(error) }) as unknown as RateLimiterAbstract;
    const down = await pass(new RateLimits({ read: { limit: 1, windowSec: 60 } }, failing(lost)), 'read', 'user:a');
    expect(down.nextCalled).toBe(false);
    expect(down.error).toBeInstanceOf(ApiError);
    expect(down.error).toMatchObject({
      code: 'service_unavailable',
      headers: { 'Retry-After': '2' },
      details: { retryAfterSec: 2, reason: 'database_unavailable' },
      cause: lost,
    });
    expect((down.error as ApiError).message).not.toContain('127.0.0.1');
    // Any other store failure is the service's own: internal_error, the original kept as the cause.
    const bug = new Error('syntax error at or near "SELEC"');
    const other = await pass(new RateLimits({ read: { limit: 1, windowSec: 60 } }, failing(bug)), 'read', 'user:a');
    expect(other.error).toMatchObject({ code: 'internal_error', cause: bug });
  });

  it('refuses a bad policy when built and an unknown policy when used', () => {
    expect(() => new RateLimits({ read: { limit: 0, windowSec: 60 } })).toThrow(/read: limit/);
    expect(() => new RateLimits({ read: { limit: 1, windowSec: 0.5 } })).toThrow(/read: windowSec/);
    expect(() => new RateLimits({ 'Bad name': { limit: 1, windowSec: 60 } })).toThrow(/policy name/);
    expect(() => new RateLimits({ read: { limit: 1, windowSec: 60 } }).limit('vend', () => 'k')).toThrow(
      /no rate-limit policy named "vend"/,
    );
  });
});
