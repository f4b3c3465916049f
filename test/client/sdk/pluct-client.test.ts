import { describe, expect, it } from 'vitest';
import { isProblem } from '../../../client/sdk/errors.js';
import { createPluctClient } from '../../../client/sdk/pluct-client.js';
import { isValidRequestId } from '../../../client/sdk/request-id.js';
import { BALANCE, ENGINE, fakeFetch, json, problem, tokenSource } from '../support/fake-engine.js';

describe('createPluctClient', () => {
  it('sends a valid X-Request-ID and the user JWT on every request, and exposes the id on the result', async () => {
    const fake = fakeFetch({ 'GET /v1/credits/balance': () => json(200, BALANCE) });
    const pluct = createPluctClient({
      baseUrl: `${ENGINE}/`,
      getUserToken: tokenSource().getUserToken,
      fetch: fake.fetch,
    });
    const a = await pluct.balance();
    const b = await pluct.balance();
    expect(a.data).toEqual(BALANCE);
    expect(isValidRequestId(a.requestId)).toBe(true);
    expect(fake.seen.map((r) => r.requestId)).toEqual([a.requestId, b.requestId]);
    expect(a.requestId).not.toBe(b.requestId);
    expect(fake.seen[0]?.authorization).toMatch(/^Bearer eyJ/);
  });

  it('passes problems through, typed by code, with the server request id', async () => {
    const fake = fakeFetch({
      'POST /v1/vend-token': () =>
        problem('insufficient_credits', { requestId: 'req_serverside01', details: { balance: 0, required: 1 } }),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { data, error, response } = await pluct.vendToken();
    expect(data).toBeUndefined();
    expect(response?.status).toBe(402);
    expect(error && isProblem(error)).toBe(true);
    if (error?.code === 'insufficient_credits') {
      expect(error.status).toBe(402);
      expect(error.details).toEqual({ balance: 0, required: 1 });
      expect(error.requestId).toBe('req_serverside01');
      expect(error.guidance).toMatch(/Nothing was charged/);
    } else {
      expect.fail(`unexpected ${error?.code}`);
    }
  });

  it('keeps the vend idempotency key across the retry after a token refresh', async () => {
    const fake = fakeFetch({
      'POST /v1/vend-token': (_req, nth) => (nth === 1 ? problem('token_expired') : json(200, { ok: true })),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    await pluct.vendToken();
    const [first, second] = fake.seen.map((r) => (r.body as { clientRequestId: string }).clientRequestId);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe(first);
  });

  it('sends ledger paging as query parameters', async () => {
    const fake = fakeFetch({
      'GET /v1/credits/ledger': () => json(200, { ok: true, userId: 'user-1', entries: [], nextCursor: null }),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { data } = await pluct.ledger({ limit: 10, cursor: 'abc' });
    expect(data?.nextCursor).toBeNull();
    expect(fake.seen[0]?.path).toBe('/v1/credits/ledger?limit=10&cursor=abc');
  });

  it('reads a job status with the service token when given one, without touching the user token', async () => {
    const source = tokenSource();
    const fake = fakeFetch({
      'GET /ttt/status/*': () => problem('job_not_found', { details: { jobId: 'job_12345678' } }),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: source.getUserToken, fetch: fake.fetch });
    const { error } = await pluct.status('job_12345678', { serviceToken: 'svc.token.value' });
    expect(error?.code).toBe('job_not_found');
    expect(fake.seen[0]?.authorization).toBe('Bearer svc.token.value');
    expect(source.calls()).toBe(0);
  });

  it('turns a non-problem answer into unexpected_response', async () => {
    const fake = fakeFetch({
      'GET /v1/credits/balance': () =>
        new Response('<html>Bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } }),
    });
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { error, requestId } = await pluct.balance();
    expect(error?.code).toBe('unexpected_response');
    if (error?.code === 'unexpected_response') {
      expect(error.status).toBe(502);
      expect(error.detail).toContain('text/html');
      expect(error.requestId).toBe(requestId);
    }
  });

  it('resolves with network_error, naming the URL and the request id, instead of throwing', async () => {
    const pluct = createPluctClient({
      baseUrl: ENGINE,
      getUserToken: tokenSource().getUserToken,
      fetch: () =>
        Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') })),
    });
    const { error, requestId, response } = await pluct.balance();
    expect(response).toBeUndefined();
    expect(error?.code).toBe('network_error');
    expect(error?.detail).toContain(ENGINE);
    expect(error?.detail).toContain('ECONNREFUSED');
    expect(error?.requestId).toBe(requestId);
    expect(error?.retryable).toBe(true);
  });

  it('resolves with aborted when the signal is already aborted', async () => {
    const fake = fakeFetch({ 'GET /v1/credits/balance': () => json(200, BALANCE) });
    const pluct = createPluctClient({
      baseUrl: ENGINE,
      getUserToken: tokenSource().getUserToken,
      fetch: (request) =>
        request.signal.aborted ? Promise.reject(new DOMException('aborted', 'AbortError')) : fake.fetch(request),
    });
    const { error } = await pluct.balance({ signal: AbortSignal.abort() });
    expect(error?.code).toBe('aborted');
  });

  it('never sends a tttsk_ shared secret handed over as the user token', async () => {
    const fake = fakeFetch({ 'GET /v1/credits/balance': () => json(200, BALANCE) });
    const pluct = createPluctClient({
      baseUrl: ENGINE,
      getUserToken: async () => 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
      fetch: fake.fetch,
    });
    const { error } = await pluct.balance();
    expect(error?.code).toBe('token_refresh_failed');
    expect(error?.detail).toContain('shared secret');
    expect(fake.seen).toHaveLength(0);
  });

  it('resolves with token_refresh_failed when getUserToken throws', async () => {
    const fake = fakeFetch({ 'GET /v1/credits/balance': () => json(200, BALANCE) });
    const pluct = createPluctClient({
      baseUrl: ENGINE,
      getUserToken: () => Promise.reject(new Error('signed out')),
      fetch: fake.fetch,
    });
    const { error } = await pluct.balance();
    expect(error?.code).toBe('token_refresh_failed');
    expect(error?.detail).toContain('signed out');
    expect(fake.seen).toHaveLength(0);
  });
});
