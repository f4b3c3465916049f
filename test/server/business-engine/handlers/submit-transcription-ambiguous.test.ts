import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STUCK_SUBMITTING_MS } from '../../../../server/business-engine/jobs/sweeper.js';
import {
  idempotentTtt,
  startEngineWithFakeTtt,
  upstreamProblem,
  type EngineWithFakeTtt,
  type FakeAnswer,
  type IdempotentTtt,
  type RecordedRequest,
} from '../../../helpers/engine-fake-ttt.js';

/*
 * Never both a job and a refund, never neither, across a failed forward (issue 18 item 5): the engine refunds at
 * once only when TTTranscribe provably did not store the job; after TTTranscribe's own 5xx it asks once by the
 * submission key; with no answer (a timeout, a reset) the token stays `submitting` until a resubmission of the same
 * token or the sweep settles it. The fake TTTranscribe keeps the idempotency contract and, for POST /transcribe,
 * stores the job (or not) before it answers badly.
 */
const CLIP = { url: 'https://media.example.com/a.mp4' };
const SUB = 'ambiguous-user';

describe('a submission whose forward fails ambiguously', () => {
  let pair: EngineWithFakeTtt;
  let fake: IdempotentTtt;

  beforeEach(async () => {
    pair = await startEngineWithFakeTtt({ UPSTREAM_TIMEOUT_MS: '300' });
    fake = idempotentTtt();
    pair.ttt.respond(fake.handler);
  });
  afterEach(async () => {
    await pair.close();
  });

  /** POST /transcribe: stored by the idempotent fake first when `stores`, then answered with `answer`. */
  function forwardThen(stores: boolean, answer: FakeAnswer): void {
    pair.ttt.respond((req: RecordedRequest) => {
      if (req.method !== 'POST' || req.target !== '/transcribe') return fake.handler(req);
      if (stores) fake.handler(req);
      return answer;
    });
  }

  const submit = (token: string) =>
    pair.be.client.POST('/ttt/transcribe', { body: CLIP, headers: pair.be.bearer(token) });

  const settlesWithinSec = () => Math.ceil(STUCK_SUBMITTING_MS / 1000) + pair.be.config.sweepIntervalSec;

  /** Exactly one of: the token linked to the one job TTTranscribe holds, or one refund and no job. */
  async function expectOneOutcome(tokenId: string, expected: 'linked' | 'refunded', refundReason?: string) {
    const record = (await pair.be.engine.store.tokens.get(tokenId))!;
    const refunds = (await pair.be.engine.store.ledger.page(SUB, 100)).filter(
      (e) => e.kind === 'refund' && e.tokenId === tokenId,
    );
    if (expected === 'linked') {
      expect(fake.jobs.map((j) => j.jobId)).toEqual([record.jobId]);
      expect(record.state).toBe('submitted');
      expect(refunds).toEqual([]);
    } else {
      expect(fake.jobs).toEqual([]);
      expect(record).toMatchObject({ state: 'refunded', jobId: null });
      expect(refunds.map((e) => e.reason)).toEqual([refundReason]);
    }
    // The signup bonus (100) less the one vend, given back only with a refund.
    const { data } = await pair.be.client.GET('/v1/credits/balance', {
      headers: pair.be.bearer(await pair.be.userJwt({ sub: SUB })),
    });
    expect(data?.balance).toBe(expected === 'refunded' ? 100 : 99);
  }

  it('TTTranscribe stores the job then answers 500: 202 with that job, no refund', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    forwardThen(true, upstreamProblem(500, 'internal_error', 'The answer failed after the commit.'));
    const { data, error, response } = await submit(token);
    expect(error).toBeUndefined();
    expect(response.status).toBe(202);
    expect(data).toMatchObject({ ok: true, jobId: fake.jobs[0]!.jobId, status: 'queued' });
    expect(response.headers.get('location')).toBe(`/ttt/status/${fake.jobs[0]!.jobId}`);
    // One lookup by the key the submission sent.
    const lookups = pair.ttt.requests.filter((r) => r.target.startsWith('/jobs/by-idempotency-key/'));
    expect(lookups.map((r) => r.target)).toEqual([`/jobs/by-idempotency-key/${fake.jobs[0]!.key}`]);
    await expectOneOutcome(tokenId, 'linked');
  });

  it('TTTranscribe fails before storing and answers 500: refunded once, upstream_error with creditRefunded true', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    forwardThen(false, upstreamProblem(500, 'internal_error', 'The insert failed.'));
    const { error, response } = await submit(token);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_error',
      details: { upstream: 'tttranscribe', upstreamStatus: 500, upstreamCode: 'internal_error', creditRefunded: true },
    });
    expect(error!.details).not.toHaveProperty('submissionPending');
    await expectOneOutcome(tokenId, 'refunded', 'upstream_error');
    // The refunded token stays refunded: a second try refunds nothing twice and stores nothing.
    pair.ttt.respond(fake.handler);
    expect((await submit(token)).error?.code).toBe('service_token_revoked');
    await expectOneOutcome(tokenId, 'refunded', 'upstream_error');
  });

  it('TTTranscribe answers 500 and the lookup fails too: no refund, the token stays submitting, the sweep settles it', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    pair.ttt.respond((req) => {
      if (req.method === 'POST') fake.handler(req);
      return upstreamProblem(500, 'internal_error', 'Everything fails.');
    });
    const { error, response } = await submit(token);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_error',
      details: { creditRefunded: false, submissionPending: true, settlesWithinSec: settlesWithinSec() },
    });
    expect((await pair.be.engine.store.tokens.get(tokenId))?.state).toBe('submitting');
    pair.ttt.respond(fake.handler);
    pair.be.clock.ms += STUCK_SUBMITTING_MS + 1000;
    expect(await pair.be.engine.sweeper.runOnce()).toMatchObject({ interruptedLinked: 1, interruptedRefunded: 0 });
    await expectOneOutcome(tokenId, 'linked');
  });

  it('TTTranscribe stores the job then hangs past the timeout: 504 pending, then the resubmission gets the same job', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    forwardThen(true, 'hang');
    const { error, response } = await submit(token);
    expect(response.status).toBe(504);
    expect(error).toMatchObject({
      code: 'upstream_timeout',
      details: {
        upstream: 'tttranscribe',
        timeoutMs: 300,
        creditRefunded: false,
        submissionPending: true,
        settlesWithinSec: settlesWithinSec(),
      },
    });
    expect(error!.detail).toContain('Submitting the same service token again finds the job');
    expect(error!.detail).toContain(`within ${settlesWithinSec()} s`);
    expect(await pair.be.engine.store.tokens.get(tokenId)).toMatchObject({ state: 'submitting', jobId: null });
    // No lookup while the request may still land.
    expect(pair.ttt.requests.filter((r) => r.target.startsWith('/jobs/by-idempotency-key/'))).toEqual([]);
    pair.ttt.respond(fake.handler);
    const again = await submit(token);
    expect(again.response.status).toBe(202);
    expect(again.data?.jobId).toBe(fake.jobs[0]!.jobId);
    expect(fake.replays).toEqual([fake.jobs[0]!.jobId]);
    await expectOneOutcome(tokenId, 'linked');
  });

  it('TTTranscribe stores the job then hangs: the sweep after the window links it, no refund', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    forwardThen(true, 'hang');
    expect((await submit(token)).error?.code).toBe('upstream_timeout');
    pair.ttt.respond(fake.handler);
    pair.be.clock.ms += STUCK_SUBMITTING_MS - 1000;
    expect(await pair.be.engine.sweeper.runOnce()).toMatchObject({ interruptedLinked: 0, interruptedRefunded: 0 });
    expect((await pair.be.engine.store.tokens.get(tokenId))?.state).toBe('submitting');
    pair.be.clock.ms += 2000;
    expect(await pair.be.engine.sweeper.runOnce()).toMatchObject({ interruptedLinked: 1, interruptedRefunded: 0 });
    await expectOneOutcome(tokenId, 'linked');
  });

  it('TTTranscribe stores the job then resets the connection: 502 pending, the resubmission gets the same job', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    forwardThen(true, 'destroy');
    const { error, response } = await submit(token);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_error',
      details: { reason: 'network_error', creditRefunded: false, submissionPending: true },
    });
    expect((await pair.be.engine.store.tokens.get(tokenId))?.state).toBe('submitting');
    pair.ttt.respond(fake.handler);
    expect((await submit(token)).data?.jobId).toBe(fake.jobs[0]!.jobId);
    await expectOneOutcome(tokenId, 'linked');
  });

  it('TTTranscribe never stores the job and never answers: the sweep refunds once after the window', async () => {
    const { token, tokenId } = await pair.vend(SUB);
    forwardThen(false, 'hang');
    const { error } = await submit(token);
    expect(error).toMatchObject({
      code: 'upstream_timeout',
      details: { creditRefunded: false, submissionPending: true },
    });
    expect((await pair.be.engine.store.ledger.page(SUB, 100)).filter((e) => e.kind === 'refund')).toEqual([]);
    pair.ttt.respond(fake.handler);
    pair.be.clock.ms += STUCK_SUBMITTING_MS + 1000;
    expect(await pair.be.engine.sweeper.runOnce()).toMatchObject({ interruptedLinked: 0, interruptedRefunded: 1 });
    expect(await pair.be.engine.sweeper.runOnce()).toMatchObject({ interruptedLinked: 0, interruptedRefunded: 0 });
    await expectOneOutcome(tokenId, 'refunded', 'submission_interrupted');
  });
});
