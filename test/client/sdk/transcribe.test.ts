import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPluctClient } from '../../../client/sdk/pluct-client.js';
import type { TranscribeProgress } from '../../../client/sdk/transcribe.js';
import { ENGINE, fakeFetch, json, problem, tokenSource, type FakeRoute } from '../support/fake-engine.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const JOB = 'job_01JD0000000000000000000000';
const VENDED = {
  ok: true,
  token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2ln',
  tokenId: 'tok_1',
  expiresIn: 900,
  expiresAt: '2026-11-23T10:15:00.000Z',
  balanceAfter: 2,
  requestId: 'req_vend0001',
};
const ACCEPTED = { ok: true, jobId: JOB, status: 'queued', submittedAt: '2026-11-23T10:00:00.000Z' };

function jobStatus(status: string, extra: Record<string, unknown> = {}) {
  return {
    ok: true,
    jobId: JOB,
    status,
    stage: status === 'completed' ? 'done' : 'transcribing',
    progress: status === 'completed' ? 1 : 0.5,
    submittedAt: '2026-11-23T10:00:00.000Z',
    updatedAt: '2026-11-23T10:00:01.000Z',
    creditRefunded: false,
    ...extra,
  };
}

function engine(statusRoute: FakeRoute, submitRoute: FakeRoute = () => json(202, ACCEPTED)) {
  return fakeFetch({
    'POST /v1/vend-token': () => json(200, VENDED),
    'POST /ttt/transcribe': submitRoute,
    'GET /ttt/status/*': statusRoute,
  });
}

async function run<T>(promise: Promise<T>): Promise<T> {
  await vi.runAllTimersAsync();
  return promise;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('transcribe', () => {
  it('vends, submits with the service token, polls with the user JWT and resolves with the transcript', async () => {
    const fake = engine((_req, nth) =>
      json(200, nth < 3 ? jobStatus('processing') : jobStatus('completed', { transcript: 'and so it begins' })),
    );
    const source = tokenSource();
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: source.getUserToken, fetch: fake.fetch });
    const progress: TranscribeProgress[] = [];
    const { data, error } = await run(
      pluct.transcribe('https://media.example.com/clip.mp4', { language: 'en', onProgress: (p) => progress.push(p) }),
    );
    expect(error).toBeUndefined();
    expect(data).toMatchObject({ jobId: JOB, transcript: 'and so it begins', tokenId: 'tok_1', balanceAfter: 2 });
    expect(progress.map((p) => p.phase)).toEqual([
      'vending',
      'submitting',
      'queued',
      'processing',
      'processing',
      'completed',
    ]);
    const submit = fake.seen.find((r) => r.path === '/ttt/transcribe');
    expect(submit?.authorization).toBe(`Bearer ${VENDED.token}`);
    expect(submit?.body).toEqual({ url: 'https://media.example.com/clip.mp4', language: 'en' });
    const polls = fake.seen.filter((r) => r.path.startsWith('/ttt/status/'));
    expect(polls).toHaveLength(3);
    expect(polls.every((r) => r.authorization !== `Bearer ${VENDED.token}`)).toBe(true);
    expect(new Set(fake.seen.map((r) => r.requestId)).size).toBe(fake.seen.length);
  });

  it('a failed job resolves with job_failed carrying the job failure code', async () => {
    const failedJob = jobStatus('failed', {
      stage: 'fetching',
      creditRefunded: true,
      error: {
        code: 'media_fetch_failed',
        message: 'The media host answered 404 Not Found; check the link.',
        retryable: false,
        responsibility: 'caller',
      },
    });
    const fake = engine(() => json(200, failedJob));
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { data, error } = await run(pluct.transcribe('https://media.example.com/missing.mp4'));
    expect(data).toBeUndefined();
    expect(error?.code).toBe('job_failed');
    if (error?.code === 'job_failed') {
      expect(error).toMatchObject({
        jobId: JOB,
        jobFailure: 'media_fetch_failed',
        creditRefunded: true,
        responsibility: 'caller',
        retryable: false,
      });
      expect(error.detail).toContain('404');
      expect(error.guidance).toContain('refunded');
      expect(error.requestId).toBe(fake.seen.at(-1)?.requestId);
    }
  });

  it('an expired service token is a typed error with guidance, and no second vend happens', async () => {
    const fake = engine(
      () => json(200, jobStatus('completed')),
      () => problem('token_expired', { details: { credential: 'service_token' } }),
    );
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { error } = await run(pluct.transcribe('https://media.example.com/clip.mp4'));
    expect(error?.code).toBe('service_token_expired');
    if (error?.code === 'service_token_expired') {
      expect(error.problem.code).toBe('token_expired');
      expect(error.guidance).toMatch(/never re-vended silently/);
    }
    expect(fake.count('POST /v1/vend-token')).toBe(1);
    expect(fake.count('POST /ttt/transcribe')).toBe(1);
  });

  it('a revoked service token is returned as the engine problem, without vending again', async () => {
    const fake = engine(
      () => json(200, jobStatus('completed')),
      () => problem('service_token_revoked', { details: { reason: 'submission_failed' } }),
    );
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { error } = await run(pluct.transcribe('https://media.example.com/clip.mp4'));
    expect(error?.code).toBe('service_token_revoked');
    expect(error?.guidance).toMatch(/Vend a new service token/);
    expect(fake.count('POST /v1/vend-token')).toBe(1);
  });

  it('after a network failure on submit, the same token finds the job it already submitted', async () => {
    const fake = engine(
      () => json(200, jobStatus('completed', { transcript: 'found it' })),
      (_req, nth) =>
        nth === 1
          ? Promise.reject(new TypeError('fetch failed'))
          : problem('service_token_already_used', { details: { jobId: JOB } }),
    );
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { data } = await run(pluct.transcribe('https://media.example.com/clip.mp4'));
    expect(data?.transcript).toBe('found it');
    expect(fake.count('POST /v1/vend-token')).toBe(1);
  });

  it('a pending submission (upstream_timeout, creditRefunded false) is submitted again with the same token', async () => {
    const pendingTimeout = () =>
      problem('upstream_timeout', {
        details: { timeoutMs: 5000, creditRefunded: false, submissionPending: true, settlesWithinSec: 180 },
      });
    const fake = engine(
      () => json(200, jobStatus('completed', { transcript: 'stored after all' })),
      (_req, nth) => (nth === 1 ? pendingTimeout() : json(202, ACCEPTED)),
    );
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { data } = await run(pluct.transcribe('https://media.example.com/clip.mp4'));
    expect(data).toMatchObject({ jobId: JOB, transcript: 'stored after all' });
    const submits = fake.seen.filter((r) => r.path === '/ttt/transcribe');
    expect(submits.map((r) => r.authorization)).toEqual([`Bearer ${VENDED.token}`, `Bearer ${VENDED.token}`]);
    expect(fake.count('POST /v1/vend-token')).toBe(1);

    // Still pending on the second try: the engine's answer is returned (no third try, no new token).
    const stuck = engine(() => json(200, jobStatus('completed')), pendingTimeout);
    const pluct2 = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: stuck.fetch });
    const { error } = await run(pluct2.transcribe('https://media.example.com/clip.mp4'));
    expect(error).toMatchObject({
      code: 'upstream_timeout',
      details: { creditRefunded: false, submissionPending: true },
    });
    expect(stuck.count('POST /ttt/transcribe')).toBe(2);
    expect(stuck.count('POST /v1/vend-token')).toBe(1);
  });

  it('a refunded upstream failure (creditRefunded true) is not submitted again', async () => {
    const fake = engine(
      () => json(200, jobStatus('completed')),
      () => problem('upstream_error', { details: { upstreamStatus: 500, creditRefunded: true } }),
    );
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { error } = await run(pluct.transcribe('https://media.example.com/clip.mp4'));
    expect(error).toMatchObject({ code: 'upstream_error', details: { creditRefunded: true } });
    expect(fake.count('POST /ttt/transcribe')).toBe(1);
  });

  it('tolerates a few transient poll failures, then gives up with the last one', async () => {
    const flaky = engine((_req, nth) =>
      nth <= 2
        ? problem('upstream_unavailable', { details: { retryAfterSec: 1 } })
        : json(200, jobStatus('completed', { transcript: 'ok' })),
    );
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: flaky.fetch });
    expect((await run(pluct.transcribe('https://media.example.com/clip.mp4'))).data?.transcript).toBe('ok');

    const down = engine(() => problem('upstream_unavailable', { details: { retryAfterSec: 1 } }));
    const pluct2 = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: down.fetch });
    const { error } = await run(
      pluct2.transcribe('https://media.example.com/clip.mp4', { poll: { maxConsecutiveErrors: 2 } }),
    );
    expect(error?.code).toBe('upstream_unavailable');
    expect(down.count('GET /ttt/status/*')).toBe(3);
  });

  it('stops polling at the budget with poll_timeout naming the job, backing off up to the maximum delay', async () => {
    const fake = engine(() => json(200, jobStatus('processing')));
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const { error } = await run(
      pluct.transcribe('https://media.example.com/clip.mp4', {
        poll: { initialDelayMs: 1000, maxDelayMs: 4000, factor: 2, timeoutMs: 20_000 },
      }),
    );
    expect(error?.code).toBe('poll_timeout');
    if (error?.code === 'poll_timeout') {
      expect(error.jobId).toBe(JOB);
      expect(error.waitedMs).toBe(20_000);
      expect(error.guidance).toContain(`status('${JOB}')`);
    }
    // Waits 1, 2, 4, 4, 4, 4, then the 1 s left: 7 polls.
    expect(fake.count('GET /ttt/status/*')).toBe(7);
  });

  it('resolves with aborted when the signal fires while polling', async () => {
    const fake = engine(() => json(200, jobStatus('processing')));
    const pluct = createPluctClient({ baseUrl: ENGINE, getUserToken: tokenSource().getUserToken, fetch: fake.fetch });
    const controller = new AbortController();
    const pending = pluct.transcribe('https://media.example.com/clip.mp4', {
      signal: controller.signal,
      onProgress: (p) => (p.phase === 'processing' ? controller.abort() : undefined),
    });
    const { error } = await run(pending);
    expect(error?.code).toBe('aborted');
    expect(error?.guidance).toContain(JOB);
  });
});
