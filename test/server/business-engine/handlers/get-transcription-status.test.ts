import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';
import { startFakeTtt, upstreamProblem, type FakeTtt } from '../../../helpers/engine-fake-ttt.js';

type JobState = 'queued' | 'processing' | 'completed' | 'failed';

/** A fake TTTranscribe that accepts jobs and reports whatever state the test sets for each. */
function jobTable(ttt: FakeTtt) {
  const states = new Map<string, JobState>();
  let next = 0;
  ttt.respond((req) => {
    if (req.method === 'POST' && req.target === '/transcribe') {
      const jobId = `job_STATUS${String((next += 1)).padStart(8, '0')}`;
      states.set(jobId, 'queued');
      return {
        status: 202,
        body: { ok: true, jobId, status: 'queued', submittedAt: new Date(ENGINE_T0_MS).toISOString() },
      };
    }
    const jobId = /^\/status\/(job_\w+)$/.exec(req.target)?.[1];
    const state = jobId ? states.get(jobId) : undefined;
    if (!jobId || !state) return upstreamProblem(404, 'job_not_found', `No job with id ${jobId} exists.`, { jobId });
    const at = new Date(ENGINE_T0_MS).toISOString();
    const base = {
      ok: true,
      jobId,
      status: state,
      url: 'https://media.example.com/clip.mp4',
      language: 'en',
      submittedAt: at,
      startedAt: at,
      updatedAt: at,
    };
    if (state === 'completed')
      return {
        status: 200,
        body: {
          ...base,
          stage: 'done',
          progress: 1,
          completedAt: at,
          transcript: 'and so the story begins',
          engine: { name: 'test-double', model: null },
        },
      };
    if (state === 'failed') {
      return {
        status: 200,
        body: {
          ...base,
          stage: 'fetching',
          progress: 0.1,
          completedAt: at,
          error: {
            code: 'media_fetch_failed',
            message: 'The media host answered 404 Not Found; check the link.',
            retryable: false,
            responsibility: 'caller',
          },
        },
      };
    }
    return {
      status: 200,
      body: {
        ...base,
        stage: state === 'queued' ? 'queued' : 'transcribing',
        progress: state === 'queued' ? 0 : 0.5,
        completedAt: null,
      },
    };
  });
  return states;
}

describe('GET /ttt/status/{jobId} and the credit sweep', () => {
  let be: EngineTestApp;
  let ttt: FakeTtt;
  let states: Map<string, JobState>;
  let n = 0;
  beforeAll(async () => {
    const secret = generateSharedSecret();
    const clock = { ms: ENGINE_T0_MS };
    ttt = await startFakeTtt({ keys: [parseSharedSecret('TTT_SHARED_SECRET', secret)], now: () => clock.ms });
    states = jobTable(ttt);
    be = await startEngineTestApp({
      clock,
      env: { TTT_SHARED_SECRET: secret, TTT_BASE_URL: ttt.baseUrl, SIGNUP_BONUS_CREDITS: '10' },
    });
  });
  beforeEach(() => {
    be.clock.ms = ENGINE_T0_MS;
  });
  afterAll(async () => {
    expect(ttt.requests.filter((r) => !r.engineAuth.ok)).toEqual([]);
    await be.close();
    await ttt.close();
  });

  const vend = async (sub: string) => {
    const { data } = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: `s-${(n += 1)}` },
      headers: be.bearer(await be.userJwt({ sub })),
    });
    return data!;
  };
  const submitJob = async (sub: string) => {
    const vended = await vend(sub);
    const { data } = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: be.bearer(vended.token),
    });
    return { token: vended.token, tokenId: vended.tokenId, jobId: data!.jobId };
  };
  const status = (jobId: string, token: string) =>
    be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers: be.bearer(token) });
  const ledger = async (sub: string) =>
    (await be.client.GET('/v1/credits/ledger', { headers: be.bearer(await be.userJwt({ sub })) })).data!.entries;
  const balance = async (sub: string) =>
    (await be.client.GET('/v1/credits/balance', { headers: be.bearer(await be.userJwt({ sub })) })).data!.balance;

  it('answers the owner (user JWT) and the creating service token, with creditRefunded false while running', async () => {
    const job = await submitJob('owner-1');
    states.set(job.jobId, 'processing');
    const byUser = await status(job.jobId, await be.userJwt({ sub: 'owner-1', scope: 'credits:read' }));
    expect(byUser.response.status).toBe(200);
    expect(byUser.data).toMatchObject({
      jobId: job.jobId,
      status: 'processing',
      stage: 'transcribing',
      creditRefunded: false,
    });
    const byToken = await status(job.jobId, job.token);
    expect(byToken.data).toMatchObject({ jobId: job.jobId, status: 'processing' });
    const sent = ttt.requests.filter((r) => r.target === `/status/${job.jobId}`);
    expect(sent.every((r) => r.method === 'GET' && r.engineAuth.ok)).toBe(true);
  });

  it('answers forbidden to another user and to another service token of the same user', async () => {
    const job = await submitJob('owner-2');
    const other = await status(job.jobId, await be.userJwt({ sub: 'intruder' }));
    expect(other.response.status).toBe(403);
    expect(other.error).toMatchObject({ code: 'forbidden', details: { resource: 'job', jobId: job.jobId } });
    const sibling = await vend('owner-2');
    const bySibling = await status(job.jobId, sibling.token);
    expect(bySibling.error).toMatchObject({ code: 'forbidden' });
  });

  it('answers job_not_found for a job the engine never submitted', async () => {
    const { error, response } = await status('job_UNKNOWN0000000000', await be.userJwt());
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ code: 'job_not_found', details: { jobId: 'job_UNKNOWN0000000000' } });
  });

  it('answers invalid_request for a malformed job id, with a pointer into the path', async () => {
    const { error, response } = await status('not-a-job', await be.userJwt());
    expect(response.status).toBe(400);
    // The shared validator translation names path parameters under /params.
    expect(error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [expect.objectContaining({ pointer: '/path/jobId' })] },
    });
  });

  it('answers credential_type_mismatch to the admin token', async () => {
    const job = await submitJob('owner-3');
    const { error } = await status(job.jobId, be.config.adminToken);
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'admin_token', expected: 'user_jwt_or_service_token' },
    });
  });

  it('settles a completed job as consumed (no refund), once', async () => {
    const job = await submitJob('done-user');
    states.set(job.jobId, 'completed');
    const first = await status(job.jobId, job.token);
    expect(first.data).toMatchObject({
      status: 'completed',
      transcript: 'and so the story begins',
      creditRefunded: false,
    });
    await status(job.jobId, job.token);
    expect((await be.engine.store.tokens.get(job.tokenId))?.state).toBe('consumed');
    expect((await ledger('done-user')).filter((e) => e.kind === 'refund')).toEqual([]);
    expect(await balance('done-user')).toBe(9);
  });

  it('refunds a failed job exactly once however often its status is polled', async () => {
    const job = await submitJob('failed-user');
    states.set(job.jobId, 'failed');
    const polls = await Promise.all(Array.from({ length: 5 }, () => status(job.jobId, job.token)));
    for (const p of polls)
      expect(p.data).toMatchObject({ status: 'failed', error: { code: 'media_fetch_failed' }, creditRefunded: true });
    for (let i = 0; i < 3; i++) await status(job.jobId, await be.userJwt({ sub: 'failed-user' }));
    await be.engine.sweeper.runOnce();
    const refunds = (await ledger('failed-user')).filter((e) => e.kind === 'refund');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      reason: 'job_failed:media_fetch_failed',
      jobId: job.jobId,
      tokenId: job.tokenId,
      amount: 1,
    });
    expect(await balance('failed-user')).toBe(10);
  });

  it('lets the creating service token read its job after the token expired and after a refund', async () => {
    const job = await submitJob('late-reader');
    states.set(job.jobId, 'failed');
    be.clock.ms += 3_600_000;
    const { data, response } = await status(job.jobId, job.token);
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ status: 'failed', creditRefunded: true });
    expect((await status(job.jobId, job.token)).data?.creditRefunded).toBe(true);
  });

  it('passes on upstream failures of the status read as upstream_* codes', async () => {
    const job = await submitJob('upstream-read');
    states.delete(job.jobId);
    const { error, response } = await status(job.jobId, job.token);
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ code: 'job_not_found', details: { jobId: job.jobId } });
  });

  it('sweep: refunds an expired unused token exactly once (run twice), and the refunded token is revoked', async () => {
    const vended = await vend('expiring-user');
    expect(await balance('expiring-user')).toBe(9);
    be.clock.ms += 900_000 + 10_000;
    expect((await be.engine.sweeper.runOnce()).expiredRefunded).toBe(0); // still inside the 30 s tolerance
    be.clock.ms += 25_000;
    const first = await be.engine.sweeper.runOnce();
    const second = await be.engine.sweeper.runOnce();
    // Other tests' unused tokens expire too; this one is refunded by the first run only.
    expect(first.expiredRefunded).toBeGreaterThanOrEqual(1);
    expect(second.expiredRefunded).toBe(0);
    const refunds = (await ledger('expiring-user')).filter((e) => e.kind === 'refund');
    expect(refunds).toEqual([
      expect.objectContaining({ reason: 'token_expired_unused', tokenId: vended.tokenId, amount: 1, bucket: 'bonus' }),
    ]);
    expect(await balance('expiring-user')).toBe(10);
    expect((await be.engine.store.tokens.get(vended.tokenId))?.state).toBe('refunded');
  });

  it('a token refunded by the sweep within its clock tolerance is answered service_token_revoked', async () => {
    const vended = await vend('tolerance-user');
    be.clock.ms += 900_000 + 31_000;
    await be.engine.sweeper.runOnce();
    // Turn the clock back inside the token's validity: only the token table can refuse it now.
    be.clock.ms = ENGINE_T0_MS + 60_000;
    const { error, response } = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: be.bearer(vended.token),
    });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'service_token_revoked',
      details: { reason: 'token_expired_unused', tokenId: vended.tokenId },
    });
  });

  it('sweep: reconciles submitted jobs by polling (completed -> consumed, failed -> refunded)', async () => {
    const done = await submitJob('sweep-user');
    const failed = await submitJob('sweep-user');
    const running = await submitJob('sweep-user');
    states.set(done.jobId, 'completed');
    states.set(failed.jobId, 'failed');
    states.set(running.jobId, 'processing');
    const report = await be.engine.sweeper.runOnce();
    expect(report).toMatchObject({
      jobsConsumed: expect.any(Number),
      jobsRefunded: expect.any(Number),
      pollErrors: expect.any(Number),
    });
    expect((await be.engine.store.tokens.get(done.tokenId))?.state).toBe('consumed');
    expect((await be.engine.store.tokens.get(failed.tokenId))?.state).toBe('refunded');
    expect((await be.engine.store.tokens.get(running.tokenId))?.state).toBe('submitted');
    expect((await ledger('sweep-user')).filter((e) => e.kind === 'refund').map((e) => e.tokenId)).toEqual([
      failed.tokenId,
    ]);
  });
});
