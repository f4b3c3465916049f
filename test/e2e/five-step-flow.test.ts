import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack.js';
import { failingProcessor, FAKE_RESULT, succeedingProcessor } from '../helpers/ttt-processors.js';
import type { JobProcessor } from '../../server/tttranscribe/jobs/job-processor.js';
import { JOB_ID_PATTERN } from '../../server/protocol/job-id.js';

// The whole chain in-process: app -> Business Engine (generated client) -> TTTranscribe (its createApp), over HTTP.
describe('the five-step flow against a real TTTranscribe', () => {
  let stack: EngineStack;
  let processor: JobProcessor = succeedingProcessor();
  beforeAll(async () => {
    stack = await startEngineStack({ processor: (job, ctx) => processor(job, ctx) });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('balance -> vend -> submit -> poll -> completed with a transcript, and the credit is consumed', async () => {
    const { be, ttt } = stack;
    const user = be.bearer(await be.userJwt({ sub: 'mobile-user-1', scope: 'ttt:transcribe credits:read' }));

    // 1. balance: a new user has the signup bonus.
    const balance = await be.client.GET('/v1/credits/balance', { headers: user });
    expect(balance.data).toMatchObject({ ok: true, userId: 'mobile-user-1', balance: 3, main: 0, bonus: 3 });

    // 2. vend a service token (1 credit).
    const vended = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: '7d3c2a10-5b7e-4f7e-9a52-2c1f0e0a9b11', userId: 'mobile-user-1' },
      headers: user,
    });
    expect(vended.error).toBeUndefined();
    expect(vended.data).toMatchObject({ ok: true, expiresIn: 900, balanceAfter: 2 });
    const service = be.bearer(vended.data!.token);

    // 3. submit with the service token; the engine signs the forward with X-Engine-Auth.
    const submitted = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
      headers: { ...service, 'X-Request-ID': 'req_five_step_submit_01' },
    });
    expect(submitted.error).toBeUndefined();
    expect(submitted.response.status).toBe(202);
    expect(submitted.response.headers.get('x-request-id')).toBe('req_five_step_submit_01');
    const jobId = submitted.data!.jobId;
    expect(jobId).toMatch(JOB_ID_PATTERN);
    // TTTranscribe saw the same request id, and the job carries the service token's jti.
    expect(ttt.logs.some((l) => l['requestId'] === 'req_five_step_submit_01' && l['status'] === 202)).toBe(true);

    // 4. poll: queued until TTTranscribe's worker runs.
    const queued = await be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers: service });
    expect(queued.data).toMatchObject({ jobId, status: 'queued', creditRefunded: false });
    expect(await ttt.service.worker.drain()).toBe(1);

    // 5. completed, with the transcript from the test-double processor.
    const done = await be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers: user });
    expect(done.error).toBeUndefined();
    expect(done.data).toMatchObject({
      ok: true,
      jobId,
      status: 'completed',
      stage: 'done',
      progress: 1,
      transcript: FAKE_RESULT.transcript,
      engine: { name: FAKE_RESULT.engine },
      creditRefunded: false,
    });
    expect(await be.engine.store.tokens.get(vended.data!.tokenId)).toMatchObject({ state: 'consumed', jobId });
    const after = await be.client.GET('/v1/credits/balance', { headers: user });
    expect(after.data?.balance).toBe(2);
    const ledger = await be.client.GET('/v1/credits/ledger', { headers: user });
    expect(ledger.data?.entries.map((e) => [e.kind, e.reason, e.tokenId])).toEqual([
      ['charge', 'vend_token', vended.data!.tokenId],
      ['grant', 'signup_bonus', null],
    ]);
  });

  it('refunds a failed job exactly once, however often it is polled', async () => {
    const { be, ttt } = stack;
    processor = failingProcessor('media_fetch_failed', 'The media host answered 404 Not Found; check the link.');
    try {
      const user = be.bearer(await be.userJwt({ sub: 'mobile-user-2' }));
      const vended = await be.client.POST('/v1/vend-token', {
        body: { clientRequestId: 'fail-flow-1' },
        headers: user,
      });
      const submitted = await be.client.POST('/ttt/transcribe', {
        body: { url: 'https://media.example.com/missing.mp4' },
        headers: be.bearer(vended.data!.token),
      });
      const jobId = submitted.data!.jobId;
      await ttt.service.worker.drain();
      const polls = await Promise.all(
        Array.from({ length: 4 }, () =>
          be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers: user }),
        ),
      );
      for (const p of polls) {
        expect(p.data).toMatchObject({
          status: 'failed',
          error: { code: 'media_fetch_failed', responsibility: 'caller' },
          creditRefunded: true,
        });
      }
      await be.engine.sweeper.runOnce();
      const ledger = await be.client.GET('/v1/credits/ledger', { headers: user });
      expect(ledger.data?.entries.filter((e) => e.kind === 'refund')).toEqual([
        expect.objectContaining({
          amount: 1,
          reason: 'job_failed:media_fetch_failed',
          jobId,
          tokenId: vended.data!.tokenId,
        }),
      ]);
      expect((await be.client.GET('/v1/credits/balance', { headers: user })).data?.balance).toBe(3);
    } finally {
      processor = succeedingProcessor();
    }
  });

  it("passes on TTTranscribe's unsupported_url and lets the same token submit a corrected URL", async () => {
    const { be } = stack;
    const user = be.bearer(await be.userJwt({ sub: 'mobile-user-3' }));
    const vended = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'url-flow-1' }, headers: user });
    const service = be.bearer(vended.data!.token);
    const bad = await be.client.POST('/ttt/transcribe', {
      body: { url: 'ftp://media.example.com/clip.mp4' },
      headers: service,
    });
    expect(bad.response.status).toBe(422);
    expect(bad.error).toMatchObject({ code: 'unsupported_url', details: { reason: 'scheme_not_allowed' } });
    const good = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: service,
    });
    expect(good.response.status).toBe(202);
    expect((await be.client.GET('/v1/credits/balance', { headers: user })).data?.balance).toBe(2);
  });

  it('GET /health/ttt-integration passes every check against a correctly configured TTTranscribe', async () => {
    const { be } = stack;
    const { data, response } = await be.client.GET('/health/ttt-integration');
    expect(response.status).toBe(200);
    expect(data).toMatchObject({
      ok: true,
      engineKeyIds: [be.config.tttKeys[0]!.keyId],
      tttAcceptedKeyIds: [be.config.tttKeys[0]!.keyId],
    });
    expect(data?.checks.map((c) => [c.name, c.ok])).toEqual([
      ['shared_secret_configured', true],
      ['ttt_reachable', true],
      ['key_id_accepted', true],
      ['signed_probe', true],
      ['clock_skew', true],
      ['service_token_verifies', true],
    ]);
    expect(data?.checks.find((c) => c.name === 'clock_skew')?.data).toEqual({ skewSec: 0 });
  });
});
