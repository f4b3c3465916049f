/**
 * Fault injection: the header's grammar, the run's seeded plan (the same seed and requests give the same faults),
 * token_expired on the Nth call driving the SDK's token refresh, and faults a run plan sets for every request.
 * Every sandbox answer is checked against the spec.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPluctClient } from '../../client/sdk/pluct-client.js';
import { startSandbox, type RunningSandbox } from '../../server/sandbox/create-sandbox.js';
import {
  createFaultDecider,
  drawLatency,
  faultPlanSchema,
  FaultSyntaxError,
  parseFaultHeader,
  parseLatency,
  seededRandom,
} from '../../server/sandbox/faults.js';
import { call } from './support/sandbox-client.js';

describe('the Pluct-Sandbox-Fault header', () => {
  it('reads every fault', () => {
    expect(
      parseFaultHeader('latency=100-400; error=internal_error; rate_limited=7; token_expired; upstream=timeout'),
    ).toEqual({
      latency: { kind: 'uniform', minMs: 100, maxMs: 400 },
      error: 'internal_error',
      rateLimited: 7,
      tokenExpired: true,
      upstream: 'timeout',
    });
    expect(parseLatency('250')).toEqual({ kind: 'fixed', ms: 250 });
    expect(parseLatency('exp:200')).toEqual({ kind: 'exponential', meanMs: 200 });
  });

  it.each(['error=no_such_code', 'upstream=sideways', 'latency=fast', 'latency=400-100', 'chaos', 'rate_limited=soon'])(
    'refuses %s, naming it',
    (value) => {
      expect(() => parseFaultHeader(value)).toThrow(FaultSyntaxError);
    },
  );
});

describe("a run's fault plan is seeded and repeatable", () => {
  const plan = faultPlanSchema.parse({
    seed: 42,
    operations: { vendToken: { errorRate: 0.3, error: 'service_unavailable' }, '*': { rateLimitedRate: 0.1 } },
  });
  const outcomes = () => {
    const decider = createFaultDecider(plan);
    return Array.from({ length: 200 }, (_, i) => decider.decide(i % 2 ? 'vendToken' : 'getCreditBalance', true));
  };

  it('gives the same faults for the same seed and requests, and others for another seed', () => {
    const first = outcomes();
    expect(outcomes()).toEqual(first);
    const errors = first.filter((f) => f.error === 'service_unavailable').length;
    expect(errors).toBeGreaterThan(10);
    expect(errors).toBeLessThan(55);
    const other = createFaultDecider({ ...plan, seed: 43 });
    expect(
      Array.from({ length: 200 }, (_, i) => other.decide(i % 2 ? 'vendToken' : 'getCreditBalance', true)),
    ).not.toEqual(first);
  });

  it('starts the sequence again on reset', () => {
    const decider = createFaultDecider(plan);
    const a = Array.from({ length: 50 }, () => decider.decide('vendToken', true));
    decider.reset();
    expect(Array.from({ length: 50 }, () => decider.decide('vendToken', true))).toEqual(a);
  });

  it('answers token_expired on exactly the listed authenticated calls', () => {
    const decider = createFaultDecider(faultPlanSchema.parse({ tokenExpiredOnCalls: [2, 4] }));
    const expired = [true, true, false, true, true].map(
      (auth) => decider.decide('getCreditBalance', auth).tokenExpired === true,
    );
    expect(expired).toEqual([false, true, false, false, true]);
  });

  it('draws latencies within their distribution, repeatably', () => {
    const uniform = parseLatency('100-200');
    const draws = Array.from(
      { length: 100 },
      (() => {
        const r = seededRandom(5);
        return () => drawLatency(uniform, r);
      })(),
    );
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...draws)).toBeLessThanOrEqual(200);
    const again = seededRandom(5);
    expect(Array.from({ length: 100 }, () => drawLatency(uniform, again))).toEqual(draws);
    expect(drawLatency(parseLatency('exp:50'), () => 0)).toBe(0);
  });

  it('refuses a bad plan at start', () => {
    expect(() => faultPlanSchema.parse({ operations: { vendToken: { errorRate: 2 } } })).toThrow();
    expect(() => faultPlanSchema.parse({ surprise: true })).toThrow();
  });
});

describe('faults in a running sandbox', () => {
  let sandbox: RunningSandbox | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  it('token_expired on the 1st call makes the SDK refresh its token once and succeed', async () => {
    sandbox = await startSandbox({ port: 0, logLevel: 'silent', faults: { tokenExpiredOnCalls: [1] } });
    let refreshed = 0;
    const s = sandbox;
    const pluct = createPluctClient({
      baseUrl: s.url,
      getUserToken: async () => {
        refreshed += 1;
        return s.userJwt({ sub: 'refresh-user' });
      },
    });
    const { data, error } = await pluct.balance();
    expect(error).toBeUndefined();
    expect(data).toMatchObject({ userId: 'refresh-user', balance: 3 });
    expect(refreshed).toBe(2);
  });

  it('a run with the upstream down answers 503 upstream_unavailable with Retry-After and refunds the credit', async () => {
    sandbox = await startSandbox({ port: 0, logLevel: 'silent', faults: { upstream: 'down' } });
    const jwt = await sandbox.userJwt({ sub: 'down-user' });
    const auth = { Authorization: `Bearer ${jwt}` };
    const vend = await call(sandbox.url, {
      method: 'POST',
      path: '/v1/vend-token',
      headers: auth,
      body: { clientRequestId: 'down-1' },
    });
    const token = (vend.body as { token: string }).token;
    const submit = await call(sandbox.url, {
      method: 'POST',
      path: '/ttt/transcribe',
      headers: { Authorization: `Bearer ${token}` },
      body: { url: 'https://media.sandbox.pluct.test/say/hi' },
    });
    const balance = await call(sandbox.url, { method: 'GET', path: '/v1/credits/balance', headers: auth });
    for (const e of [vend, submit, balance]) expect(e.violations).toEqual([]);
    expect(submit.status).toBe(503);
    expect(submit.body).toMatchObject({ code: 'upstream_unavailable', details: { creditRefunded: true } });
    expect(submit.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(balance.body).toMatchObject({ balance: 3 });
  });

  it('a fault an operation cannot answer is a 400 invalid_request naming the codes it can', async () => {
    sandbox = await startSandbox({ port: 0, logLevel: 'silent' });
    const jwt = await sandbox.userJwt({ sub: 'listed-user' });
    const answer = await call(sandbox.url, {
      method: 'GET',
      path: '/v1/credits/balance',
      headers: { Authorization: `Bearer ${jwt}`, 'Pluct-Sandbox-Fault': 'error=upstream_timeout' },
    });
    expect(answer.violations).toEqual([]);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      code: 'invalid_request',
      details: { reason: 'code_not_listed_for_operation', code: 'upstream_timeout' },
    });
    const bad = await call(sandbox.url, {
      method: 'GET',
      path: '/v1/credits/balance',
      headers: { Authorization: `Bearer ${jwt}`, 'Pluct-Sandbox-Fault': 'chaos' },
    });
    expect(bad.body).toMatchObject({ code: 'invalid_request', details: { header: 'Pluct-Sandbox-Fault' } });
  });

  it("answers its own routes' mistakes as catalog problems, like the services", async () => {
    sandbox = await startSandbox({ port: 0, logLevel: 'silent' });
    const missing = await call(sandbox.url, { method: 'GET', path: '/sandbox/nowhere' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.body).toMatchObject({
      type: '/docs/errors.html#not_found',
      status: 404,
      code: 'not_found',
      retryable: false,
      requestId: expect.any(String),
      details: { method: 'GET', path: '/sandbox/nowhere' },
    });
    const bad = await call(sandbox.url, { method: 'POST', path: '/sandbox/tokens', body: { sub: 7 } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_request', details: { errors: [expect.stringMatching(/^sub: /)] } });
    const broken = await call(sandbox.url, { method: 'POST', path: '/sandbox/tokens', body: '{"sub":' });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ code: expect.stringMatching(/^invalid_/) });
  });
});
