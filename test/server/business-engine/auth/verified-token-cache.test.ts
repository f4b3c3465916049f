import { describe, expect, it } from 'vitest';
import { VerifiedTokenCache } from '../../../../server/business-engine/auth/verified-token-cache.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const sec = (ms: number) => ms / 1000;

describe('VerifiedTokenCache', () => {
  const window = { notBefore: sec(T0), expiresAt: sec(T0) + 900 };

  it('returns what was stored while the token is inside its window', () => {
    const cache = new VerifiedTokenCache<{ sub: string }>({ max: 10, clockToleranceSec: 30 });
    cache.set('token-a', { sub: 'u1' }, window);
    expect(cache.get('token-a', T0 + 1_000)).toEqual({ sub: 'u1' });
    expect(cache.get('token-b', T0 + 1_000)).toBeUndefined();
  });

  it('misses (and forgets) once the token is near or past exp + tolerance, so the full check decides', () => {
    const cache = new VerifiedTokenCache<{ sub: string }>({ max: 10, clockToleranceSec: 30 });
    cache.set('t', { sub: 'u1' }, window);
    expect(cache.get('t', T0 + (900 + 28) * 1000)).toEqual({ sub: 'u1' });
    expect(cache.get('t', T0 + (900 + 29) * 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('misses before notBefore - tolerance (a frozen clock moved back)', () => {
    const cache = new VerifiedTokenCache<{ sub: string }>({ max: 10, clockToleranceSec: 30 });
    cache.set('t', { sub: 'u1' }, window);
    expect(cache.get('t', T0 - 28_000)).toEqual({ sub: 'u1' });
    expect(cache.get('t', T0 - 29_500)).toBeUndefined();
  });

  it('keeps at most max tokens, dropping the least recently used', () => {
    const cache = new VerifiedTokenCache<{ n: number }>({ max: 2, clockToleranceSec: 0 });
    cache.set('a', { n: 1 }, window);
    cache.set('b', { n: 2 }, window);
    cache.get('a', T0 + 5_000);
    cache.set('c', { n: 3 }, window);
    expect(cache.get('b', T0 + 5_000)).toBeUndefined();
    expect(cache.get('a', T0 + 5_000)).toEqual({ n: 1 });
    expect(cache.get('c', T0 + 5_000)).toEqual({ n: 3 });
  });

  it('stores nothing with max 0, and rejects a bad size when built', () => {
    const off = new VerifiedTokenCache<{ n: number }>({ max: 0, clockToleranceSec: 30 });
    off.set('a', { n: 1 }, window);
    expect(off.get('a', T0 + 5_000)).toBeUndefined();
    expect(() => new VerifiedTokenCache({ max: -1, clockToleranceSec: 30 })).toThrow(/max/);
    expect(() => new VerifiedTokenCache({ max: 1.5, clockToleranceSec: 30 })).toThrow(/max/);
  });
});
