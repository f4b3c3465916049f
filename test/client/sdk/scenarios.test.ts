/**
 * The SDK's scenarios, each run against three targets: the real stack in-process (both createApps, response
 * validation ON, TTTranscribe with a test-double processor), the Prism mocks of the same specs, and the sandbox
 * (`npm run sandbox`'s startSandbox: both createApps, a simulated engine, magic inputs). A scenario arranges its
 * situation the way each target allows (the real stack and the sandbox through real state, the mocks through
 * `Prefer: code=…, example=…`, the sandbox also through its fault header) and asserts the same outcome.
 * Scenarios that need state are defined only for the real stack and the sandbox (not for the mocks), and say why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../generated/errors.js';
import { isValidRequestId } from '../../../client/sdk/request-id.js';
import type { TranscribeProgress } from '../../../client/sdk/transcribe.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { FAST_POLL, prefer, startTarget, type Kind, type Target } from '../support/sdk-targets.js';
import { fakeJwt } from '../support/fake-engine.js';

let userCounter = 0;
const freshUser = () => `sdk-user-${process.pid}-${(userCounter += 1)}`;

describe.each<Kind>(['real stack', 'prism mocks', 'sandbox'])('SDK scenarios against the %s', (kind) => {
  let t: Target;
  const cleanup = createCleanupStack();
  beforeAll(async () => {
    t = await startTarget(kind);
    cleanup.defer(() => t.close());
  }, 90_000);
  afterAll(() => cleanup.run());
  const real = kind !== 'prism mocks'; // real state: the real stack and the sandbox

  it('reads the balance, typed, on a request that carries a valid X-Request-ID', async () => {
    const sub = freshUser();
    const token = await t.userToken(sub);
    const { pluct, sent } = t.client(() => Promise.resolve(token));
    const { data, error, response, requestId } = await pluct.balance();
    expect(error).toBeUndefined();
    expect(data?.ok).toBe(true);
    expect(data!.balance).toBe(data!.main + data!.bonus);
    expect(isValidRequestId(requestId)).toBe(true);
    expect(sent[0]?.headers.get('x-request-id')).toBe(requestId);
    expect(response?.status).toBe(200);
    if (real) {
      expect(data).toMatchObject({ userId: sub, balance: 3, bonus: 3 });
      expect(response?.headers.get('x-request-id')).toBe(requestId);
    }
  });

  it('reads a ledger page', async () => {
    const token = await t.userToken(freshUser());
    const { pluct } = t.client(() => Promise.resolve(token));
    const { data, error } = await pluct.ledger({ limit: 5 });
    expect(error).toBeUndefined();
    expect(Array.isArray(data?.entries)).toBe(true);
    expect(data).toHaveProperty('nextCursor');
    if (real) expect(data?.entries.map((e) => e.reason)).toContain('signup_bonus');
  });

  it('answers 401 token_expired with one refresh and one retry, then succeeds', async () => {
    const sub = freshUser();
    const tokens = [await t.userToken(sub, { expired: true }), await t.userToken(sub)];
    let calls = 0;
    const { pluct, sent } = t.client(
      () => Promise.resolve(tokens[Math.min(calls++, 1)] as string),
      [prefer('GET', /^\/v1\/credits\/balance$/, 401, 'token_expired', 1)],
    );
    const { data, error, requestId } = await pluct.balance();
    expect(error).toBeUndefined();
    expect(data?.ok).toBe(true);
    expect(calls).toBe(2);
    expect(sent).toHaveLength(2);
    expect(sent[1]?.headers.get('x-request-id')).toBe(`${sent[0]?.headers.get('x-request-id')}.retry1`);
    expect(requestId).toMatch(/\.retry1$/);
  });

  it('returns a second token_expired as the error instead of looping', async () => {
    const sub = freshUser();
    const expired = await t.userToken(sub, { expired: true });
    let calls = 0;
    const { pluct, sent } = t.client(async () => {
      calls += 1;
      return calls === 1 ? expired : t.userToken(sub, { expired: true });
    }, [prefer('GET', /^\/v1\/credits\/balance$/, 401, 'token_expired')]);
    const { data, error, response } = await pluct.balance();
    expect(data).toBeUndefined();
    expect(error?.code).toBe('token_expired');
    expect(response?.status).toBe(401);
    if (error?.code === 'token_expired') expect(error.details['credential']).toBe('user_jwt');
    expect(sent).toHaveLength(2);
    expect(calls).toBe(2);
  });

  it('types insufficient_credits with its details and guidance', async () => {
    const token = await t.userToken(freshUser());
    const { pluct } = t.client(
      () => Promise.resolve(token),
      [prefer('POST', /^\/v1\/vend-token$/, 402, 'insufficient_credits')],
    );
    if (real) for (let i = 0; i < 3; i += 1) expect((await pluct.vendToken()).error).toBeUndefined();
    const { error, response } = await pluct.vendToken();
    expect(response?.status).toBe(402);
    expect(error?.code).toBe('insufficient_credits');
    if (error?.code === 'insufficient_credits') {
      expect(error.status).toBe(402);
      expect(error.details).toMatchObject({ balance: 0, required: 1 });
      expect(error.guidance).toMatch(/Nothing was charged/);
      expect(error.responsibility).toBe('caller');
    }
  });

  it('reports an expired service token as service_token_expired, without vending again', async () => {
    const token = await t.userToken(freshUser());
    const { pluct, sent } = t.client(
      () => Promise.resolve(token),
      [{ ...prefer('POST', /^\/ttt\/transcribe$/, 401, 'token_expired'), fault: 'token_expired' }],
    );
    const nowSec = Math.floor(Date.now() / 1000);
    const serviceToken = t.stack
      ? await t.stack.issuer.mint({ sub: 'svc-user', iat: nowSec - 1000, exp: nowSec - 100 })
      : fakeJwt({ exp: nowSec - 100 });
    const { error } = await pluct.submit(serviceToken, { url: t.media.ok });
    expect(error?.code).toBe('service_token_expired');
    if (error?.code === 'service_token_expired') {
      expect(error.problem.code).toBe('token_expired');
      expect(error.guidance).toMatch(/never re-vended silently/);
    }
    expect(sent.map((r) => new URL(r.url).pathname)).toEqual(['/ttt/transcribe']);
  });

  it('refuses a user JWT where a service token belongs, with service_token_required', async () => {
    const token = await t.userToken(freshUser());
    const { pluct } = t.client(
      () => Promise.resolve(token),
      [prefer('POST', /^\/ttt\/transcribe$/, 401, 'service_token_required')],
    );
    const { error } = await pluct.submit(token, { url: t.media.ok });
    expect(error?.code).toBe('service_token_required');
    expect(error?.guidance).toMatch(/vend-token/);
  });

  it('transcribes: vend, submit, poll, transcript, with progress', async () => {
    const token = await t.userToken(freshUser());
    const { pluct, sent } = t.client(
      () => Promise.resolve(token),
      [prefer('GET', /^\/ttt\/status\//, 200, 'completed')],
    );
    const progress: TranscribeProgress[] = [];
    const { data, error } = await pluct.transcribe(t.media.ok, {
      language: 'en',
      poll: FAST_POLL,
      onProgress: (p) => progress.push(p),
    });
    expect(error).toBeUndefined();
    expect(data?.transcript).toBeTruthy();
    expect(data?.jobId).toMatch(/^job_/);
    expect(data?.status.status).toBe('completed');
    expect(progress[0]?.phase).toBe('vending');
    expect(progress.at(-1)).toMatchObject({ phase: 'completed', progress: 1 });
    const paths = sent.map((r) => `${r.method} ${new URL(r.url).pathname.replace(/job_\w+/, '{jobId}')}`);
    expect(paths.slice(0, 3)).toEqual(['POST /v1/vend-token', 'POST /ttt/transcribe', 'GET /ttt/status/{jobId}']);
    if (real) {
      expect(data?.transcript).toBe('and so the story begins');
      expect(data?.balanceAfter).toBe(2);
    }
  });

  it('resolves a failed job with job_failed and its job failure code', async () => {
    const token = await t.userToken(freshUser());
    const { pluct } = t.client(() => Promise.resolve(token), [prefer('GET', /^\/ttt\/status\//, 200, 'failed')]);
    const { data, error } = await pluct.transcribe(t.media.missing, { poll: FAST_POLL });
    expect(data).toBeUndefined();
    expect(error?.code).toBe('job_failed');
    if (error?.code === 'job_failed') {
      expect(error.jobFailure).toBe('media_fetch_failed');
      expect(error.detail).toMatch(/404/);
      expect(error.responsibility).toBe('caller');
      expect(isValidRequestId(error.requestId)).toBe(true);
    }
  });

  // The tests below are defined only for the targets they apply to (nothing is skipped: a skipped test is never done).
  if (real) {
    // Real state only (the real stack and the sandbox): Prism is stateless, so it cannot charge, refund or count credits.
    it('charges one credit per vend and refunds a failed job (real only: needs state)', async () => {
      const token = await t.userToken(freshUser());
      const { pluct } = t.client(() => Promise.resolve(token));
      const { error } = await pluct.transcribe(t.media.missing, { poll: FAST_POLL });
      expect(error?.code === 'job_failed' && error.creditRefunded).toBe(true);
      expect((await pluct.balance()).data?.balance).toBe(3);
      const reasons = (await pluct.ledger()).data?.entries.map((e) => `${e.kind}:${e.reason}`);
      expect(reasons?.[0]).toMatch(/^refund:/);
      expect(reasons).toContain('charge:vend_token');
    });

    // Real state only: Prism answers with the example's requestId, not the one sent.
    it('repeats the sent request id in problem bodies (real only: mocks echo the example id)', async () => {
      const token = await t.userToken(freshUser());
      const { pluct } = t.client(() => Promise.resolve(token));
      const { error, requestId } = await pluct.status('job_doesnotexist0001', { requestId: 'req_scenario_echo_01' });
      expect(error?.code).toBe('job_not_found' satisfies ErrorCode);
      expect(requestId).toBe('req_scenario_echo_01');
      expect(error?.requestId).toBe('req_scenario_echo_01');
    });
  }

  // Last: the sandbox cannot drift from the contract; every answer above went through the response checker.
  if (kind === 'sandbox') {
    it("every sandbox answer matched the spec (the contract suites' response checker)", () => {
      expect(t.violations).toEqual([]);
    });
  }
});
