import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineDeps } from '../../../../server/business-engine/app.js';
import type { SubmissionFaultPoint } from '../../../../server/business-engine/handlers/submit-transcription.js';
import { STUCK_SUBMITTING_MS } from '../../../../server/business-engine/jobs/sweeper.js';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import {
  ENGINE_T0_MS,
  startEngineTestApp,
  testServiceTokenKey,
  type EngineTestApp,
} from '../../../helpers/engine-app.js';
import { idempotentTtt, startFakeTtt, type FakeTtt, type IdempotentTtt } from '../../../helpers/engine-fake-ttt.js';

/*
 * Issue 18 item 5: the engine dies at each point of a submission (a fault point that throws stops the submission
 * right there, writing nothing more, as a SIGKILL would); a new engine on the same database then recovers it, by
 * the client's resubmission or by the sweep. Each ends with exactly one job linked to the token or one refund,
 * never both, never neither.
 */
const CLIP = { url: 'https://media.example.com/a.mp4' };
const POINTS: readonly SubmissionFaultPoint[] = ['submit:claimed', 'submit:forwarded'];

class Killed extends Error {}

describe('a submission interrupted by a crash', () => {
  let dir: string;
  let ttt: FakeTtt;
  let fake: IdempotentTtt;
  const clock = { ms: ENGINE_T0_MS };
  const env: Record<string, string> = {};
  const open: EngineTestApp[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pluct-crash-'));
    clock.ms = ENGINE_T0_MS;
    const secret = generateSharedSecret();
    ttt = await startFakeTtt({ keys: [parseSharedSecret('TTT_SHARED_SECRET', secret)], now: () => clock.ms });
    fake = idempotentTtt();
    ttt.respond(fake.handler);
    Object.assign(env, {
      ENGINE_DB: join(dir, 'engine.db'),
      TTT_SHARED_SECRET: secret,
      TTT_BASE_URL: ttt.baseUrl,
      SERVICE_TOKEN_PRIVATE_KEY: await testServiceTokenKey('crash-test'),
      SIGNUP_BONUS_CREDITS: '3',
    });
  });
  afterEach(async () => {
    for (const be of open.splice(0)) await be.close();
    await ttt.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An engine on the test's database; with `crashAt`, it dies at that point of its first submission. */
  async function engine(crashAt?: SubmissionFaultPoint, deps: Partial<EngineDeps> = {}): Promise<EngineTestApp> {
    const be = await startEngineTestApp({
      clock,
      env,
      deps: {
        ...deps,
        ...(crashAt === undefined
          ? {}
          : {
              faultPoint: (point: SubmissionFaultPoint) => {
                if (point === crashAt) throw new Killed(point);
              },
            }),
      },
    });
    open.push(be);
    return be;
  }

  /** Vends a token on `be`, submits it on an engine that dies at `point`, and stops that engine. */
  async function interrupted(
    point: SubmissionFaultPoint,
  ): Promise<{ token: string; tokenId: string; jobsBefore: number }> {
    const doomed = await engine(point);
    const headers = doomed.bearer(await doomed.userJwt({ sub: 'crash-user' }));
    const { data } = await doomed.client.POST('/v1/vend-token', {
      body: { clientRequestId: `crash-${point}` },
      headers,
    });
    const jobsBefore = fake.jobs.length;
    const died = await doomed.client.POST('/ttt/transcribe', { body: CLIP, headers: doomed.bearer(data!.token) });
    expect(died.response.status).toBe(500);
    expect(await doomed.engine.store.tokens.get(data!.tokenId)).toMatchObject({
      state: 'submitting',
      submissionKey: expect.stringMatching(/^sub_[0-9A-HJKMNP-TV-Z]{26}$/),
    });
    await doomed.close();
    open.splice(open.indexOf(doomed), 1);
    return { token: data!.token, tokenId: data!.tokenId, jobsBefore };
  }

  /** Exactly one of: the token linked to the one job TTTranscribe holds for it, or its credit refunded and no job. */
  async function expectOneOutcome(
    be: EngineTestApp,
    tokenId: string,
    jobsBefore: number,
  ): Promise<'linked' | 'refunded'> {
    const record = (await be.engine.store.tokens.get(tokenId))!;
    const jobs = fake.jobs.slice(jobsBefore);
    const refunds = (await be.engine.store.ledger.page('crash-user', 100)).filter(
      (e) => e.kind === 'refund' && e.tokenId === tokenId,
    );
    if (record.jobId !== null) {
      expect(jobs.map((j) => j.jobId)).toEqual([record.jobId]);
      expect(refunds).toEqual([]);
      expect(record.state).toBe('submitted');
      return 'linked';
    }
    expect(jobs).toEqual([]);
    expect(refunds.map((e) => e.reason)).toEqual(['submission_interrupted']);
    expect(record.state).toBe('refunded');
    return 'refunded';
  }

  for (const point of POINTS) {
    it(`${point}: the client's resubmission forwards the same key and gets the one job`, async () => {
      const { token, tokenId, jobsBefore } = await interrupted(point);
      const be = await engine();
      const again = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(token) });
      expect(again.response.status).toBe(202);
      expect(fake.replays).toHaveLength(point === 'submit:forwarded' ? 1 : 0);
      expect(again.data?.jobId).toBe(fake.jobs.at(-1)?.jobId);
      expect(await expectOneOutcome(be, tokenId, jobsBefore)).toBe('linked');
      // From now on the token is used: its job id is in the answer.
      const third = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(token) });
      expect(third.error).toMatchObject({
        code: 'service_token_already_used',
        details: { tokenId, jobId: again.data!.jobId, refunded: false },
      });
      // The sweep finds nothing left to do.
      clock.ms += STUCK_SUBMITTING_MS + 1000;
      expect(await be.engine.sweeper.runOnce()).toMatchObject({ interruptedRefunded: 0, interruptedLinked: 0 });
    });

    it(`${point}: the sweep asks TTTranscribe by key and links the job it stored or refunds`, async () => {
      const { token, tokenId, jobsBefore } = await interrupted(point);
      const be = await engine();
      clock.ms += STUCK_SUBMITTING_MS - 1000;
      expect(await be.engine.sweeper.runOnce()).toMatchObject({ interruptedRefunded: 0, interruptedLinked: 0 });
      clock.ms += 2000;
      const report = await be.engine.sweeper.runOnce();
      const outcome = await expectOneOutcome(be, tokenId, jobsBefore);
      expect(outcome).toBe(point === 'submit:forwarded' ? 'linked' : 'refunded');
      expect(report).toMatchObject(
        outcome === 'linked'
          ? { interruptedLinked: 1, interruptedRefunded: 0 }
          : { interruptedLinked: 0, interruptedRefunded: 1 },
      );
      expect(await be.engine.sweeper.runOnce()).toMatchObject({ interruptedRefunded: 0, interruptedLinked: 0 });
      await expectOneOutcome(be, tokenId, jobsBefore);
      // A resubmission after recovery finds the job, or is told the credit went back without a job.
      const again = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(token) });
      if (outcome === 'linked') {
        expect(again.error).toMatchObject({
          code: 'service_token_already_used',
          details: { tokenId, jobId: fake.jobs.at(-1)!.jobId, refunded: false },
        });
      } else {
        expect(again.error).toMatchObject({
          code: 'service_token_revoked',
          details: { tokenId, reason: 'submission_interrupted' },
        });
      }
      expect(fake.jobs.length - jobsBefore).toBe(outcome === 'linked' ? 1 : 0);
    });
  }

  it('leaves an interrupted submission for the next sweep while TTTranscribe cannot answer', async () => {
    const { tokenId } = await interrupted('submit:forwarded');
    // One attempt per lookup, so the failed sweep does not open the circuit for the next one.
    const be = await engine(undefined, { upstreamPolicy: { getRetries: 0 } });
    ttt.respond(() => 'destroy');
    clock.ms += STUCK_SUBMITTING_MS + 1000;
    expect(await be.engine.sweeper.runOnce()).toMatchObject({
      interruptedRefunded: 0,
      interruptedLinked: 0,
      pollErrors: 1,
    });
    expect((await be.engine.store.tokens.get(tokenId))?.state).toBe('submitting');
    ttt.respond(fake.handler);
    expect(await be.engine.sweeper.runOnce()).toMatchObject({ interruptedLinked: 1 });
  });
});

describe('a second submission of a token whose job failed and was refunded (issue 18 item 6)', () => {
  it('answers service_token_already_used with the job id and refunded: true, never service_token_revoked', async () => {
    const clock = { ms: ENGINE_T0_MS };
    const secret = generateSharedSecret();
    const ttt = await startFakeTtt({ keys: [parseSharedSecret('TTT_SHARED_SECRET', secret)], now: () => clock.ms });
    const fake = idempotentTtt();
    ttt.respond(fake.handler);
    const be = await startEngineTestApp({ clock, env: { TTT_SHARED_SECRET: secret, TTT_BASE_URL: ttt.baseUrl } });
    try {
      const headers = be.bearer(await be.userJwt({ sub: 'failed-job-user' }));
      const { data } = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'f-1' }, headers });
      const first = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(data!.token) });
      fake.jobs[0]!.status = 'failed';
      expect((await be.engine.sweeper.runOnce()).jobsRefunded).toBe(1);
      expect((await be.engine.store.tokens.get(data!.tokenId))?.state).toBe('refunded');
      const again = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(data!.token) });
      expect(again.response.status).toBe(409);
      expect(again.error).toMatchObject({
        code: 'service_token_already_used',
        details: { tokenId: data!.tokenId, jobId: first.data!.jobId, refunded: true },
      });
      expect(fake.jobs).toHaveLength(1);
    } finally {
      await be.close();
      await ttt.close();
    }
  });
});
