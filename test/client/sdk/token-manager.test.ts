import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPluctClient } from '../../../client/sdk/pluct-client.js';
import { createTokenManager, describeToken, refreshThresholdMs } from '../../../client/sdk/token-manager.js';
import { BALANCE, ENGINE, fakeFetch, fakeJwt, json, problem, tokenSource } from '../support/fake-engine.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('refreshThresholdMs', () => {
  it('is a third of the lifetime, but never less than 60 s', () => {
    expect(refreshThresholdMs(900_000)).toBe(300_000);
    expect(refreshThresholdMs(6 * 3600_000)).toBe(2 * 3600_000);
    expect(refreshThresholdMs(180_000)).toBe(60_000);
    expect(refreshThresholdMs(120_000)).toBe(60_000);
    expect(refreshThresholdMs(undefined)).toBe(60_000);
  });

  it('estimates expiry from the lifetime when the local clock runs behind the issuer', () => {
    // Issuer clock 10 minutes ahead: exp looks 25 minutes away locally, but the token only lives 15.
    const iat = T0 / 1000 + 600;
    const entry = describeToken(fakeJwt({ iat, exp: iat + 900 }), T0);
    expect(entry.expiresAt).toBe(T0 + 900_000);
    expect(entry.lifetimeMs).toBe(900_000);
    // Issuer clock behind: exp is the earlier (and so the binding) estimate.
    const early = describeToken(fakeJwt({ iat: T0 / 1000 - 600, exp: T0 / 1000 + 300 }), T0);
    expect(early.expiresAt).toBe(T0 + 300_000);
    expect(describeToken('opaque-token', T0).expiresAt).toBeUndefined();
  });
});

describe('token manager', () => {
  it('refreshes a 15-minute token once less than 5 minutes remain, not before', async () => {
    const source = tokenSource(900);
    const tokens = createTokenManager({ getUserToken: source.getUserToken });
    const first = await tokens.get('req_test00001');
    expect(source.calls()).toBe(1);
    vi.setSystemTime(T0 + 599_000); // 301 s left
    expect(await tokens.get('req_test00002')).toEqual(first);
    expect(source.calls()).toBe(1);
    vi.setSystemTime(T0 + 601_000); // 299 s left
    const second = await tokens.get('req_test00003');
    expect(source.calls()).toBe(2);
    expect(second).not.toEqual(first);
  });

  it('refreshes a 2-minute token when less than 60 s remain', async () => {
    const source = tokenSource(120);
    const tokens = createTokenManager({ getUserToken: source.getUserToken });
    await tokens.get('req_test00001');
    vi.setSystemTime(T0 + 59_000);
    await tokens.get('req_test00002');
    expect(source.calls()).toBe(1);
    vi.setSystemTime(T0 + 61_000);
    await tokens.get('req_test00003');
    expect(source.calls()).toBe(2);
  });

  it('does not refresh ahead in a loop when the backend hands out short-lived tokens', async () => {
    const source = tokenSource(30); // always inside the 60 s threshold
    const tokens = createTokenManager({ getUserToken: source.getUserToken });
    await tokens.get('req_test00001');
    vi.setSystemTime(T0 + 5_000);
    await tokens.get('req_test00002');
    expect(source.calls()).toBe(1);
    vi.setSystemTime(T0 + 11_000);
    await tokens.get('req_test00003');
    expect(source.calls()).toBe(2);
  });

  it('keeps the old token when a refresh ahead fails and it is still valid; reports failure when none is', async () => {
    let fail = false;
    const source = tokenSource(900);
    const tokens = createTokenManager({
      getUserToken: () => (fail ? Promise.reject(new Error('auth backend down')) : source.getUserToken()),
    });
    const first = await tokens.get('req_test00001');
    fail = true;
    vi.setSystemTime(T0 + 700_000);
    expect(await tokens.get('req_test00002')).toEqual(first);
    vi.setSystemTime(T0 + 901_000);
    const outcome = await tokens.get('req_test00003');
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe('token_refresh_failed');
      expect(outcome.error.detail).toContain('auth backend down');
      expect(outcome.error.requestId).toBe('req_test00003');
    }
  });
});

describe('single flight and retry-once through the client', () => {
  it('100 concurrent calls needing a token share 1 refresh', async () => {
    const source = tokenSource(900);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowSource = async () => {
      await gate;
      return source.getUserToken();
    };
    const fake = fakeFetch({ 'GET /v1/credits/balance': () => json(200, BALANCE) });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: slowSource, fetch: fake.fetch });
    const pending = Array.from({ length: 100 }, () => pluct.balance());
    release();
    const results = await Promise.all(pending);
    expect(source.calls()).toBe(1);
    expect(results.every((r) => r.data?.balance === 3)).toBe(true);
    expect(new Set(fake.seen.map((r) => r.authorization)).size).toBe(1);
  });

  it('100 concurrent 401 token_expired answers cause 1 refresh and exactly one retry each', async () => {
    const source = tokenSource(900);
    const stale = fakeJwt({ sub: 'user-1', iat: T0 / 1000, exp: T0 / 1000 + 900, stale: true });
    let served = 0;
    const getUserToken = async () => (served++ === 0 ? stale : source.getUserToken());
    const fake = fakeFetch({
      'GET /v1/credits/ledger': () => json(200, { ok: true, userId: 'user-1', entries: [], nextCursor: null }),
      'GET /v1/credits/balance': (req) =>
        req.authorization === `Bearer ${stale}`
          ? problem('token_expired', { details: { credential: 'user_jwt' } })
          : json(200, BALANCE),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken, fetch: fake.fetch });
    await pluct.ledger(); // caches the token the server will then call expired
    const results = await Promise.all(Array.from({ length: 100 }, () => pluct.balance()));
    expect(results.every((r) => r.data?.balance === 3)).toBe(true);
    expect(served).toBe(2); // the first token, then one shared refresh
    const balanceCalls = fake.seen.filter((r) => r.path === '/v1/credits/balance');
    expect(balanceCalls).toHaveLength(200);
    expect(balanceCalls.filter((r) => r.requestId?.endsWith('.retry1'))).toHaveLength(100);
  });

  it('retries a 401 token_expired once after a refresh, with a correlated request id', async () => {
    const source = tokenSource(900);
    const fake = fakeFetch({
      'GET /v1/credits/balance': (_req, nth) =>
        nth === 1 ? problem('token_expired', { requestId: null }) : json(200, BALANCE),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: source.getUserToken, fetch: fake.fetch });
    const { data, error, requestId } = await pluct.balance({ requestId: 'req_retrytest01' });
    expect(error).toBeUndefined();
    expect(data?.balance).toBe(3);
    expect(source.calls()).toBe(2);
    expect(fake.seen.map((r) => r.requestId)).toEqual(['req_retrytest01', 'req_retrytest01.retry1']);
    expect(fake.seen[0]?.authorization).not.toBe(fake.seen[1]?.authorization);
    expect(requestId).toBe('req_retrytest01.retry1');
  });

  it('returns the second 401 token_expired as the error: never a loop', async () => {
    const source = tokenSource(900);
    const fake = fakeFetch({
      'GET /v1/credits/balance': () =>
        problem('token_expired', { requestId: null, details: { credential: 'user_jwt' } }),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: source.getUserToken, fetch: fake.fetch });
    const { data, error, response } = await pluct.balance();
    expect(data).toBeUndefined();
    expect(error?.code).toBe('token_expired');
    expect(response?.status).toBe(401);
    expect(fake.count('GET /v1/credits/balance')).toBe(2);
    expect(source.calls()).toBe(2);
    // The problem body had no requestId: the SDK fills in the id it sent.
    expect(error?.requestId).toBe(fake.seen[1]?.requestId);
  });

  it('does not retry other 401 codes', async () => {
    const source = tokenSource(900);
    const fake = fakeFetch({
      'GET /v1/credits/balance': () => problem('invalid_token', { details: { reason: 'signature_invalid' } }),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: source.getUserToken, fetch: fake.fetch });
    const { error } = await pluct.balance();
    expect(error?.code).toBe('invalid_token');
    if (error?.code === 'invalid_token') expect(error.details['reason']).toBe('signature_invalid');
    expect(fake.count('GET /v1/credits/balance')).toBe(1);
  });
});
