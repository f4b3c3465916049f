import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Sweeper } from '../../../../server/business-engine/jobs/sweeper.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp, sqliteDb } from '../../../helpers/engine-app.js';
import { startEngineWithFakeTtt, upstreamProblem } from '../../../helpers/engine-fake-ttt.js';

// The sweep's recovery paths for crashes between steps (the expiry and job reconciliation paths are covered
// with the status endpoint in handlers/get-transcription-status.test.ts).
describe('Sweeper recovery', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp();
  });
  afterAll(async () => {
    await be.close();
  });

  const balance = async (sub: string) =>
    (await be.client.GET('/v1/credits/balance', { headers: be.bearer(await be.userJwt({ sub })) })).data!.balance;

  // Submissions with a key are recovered by asking TTTranscribe (handlers/submit-transcription-crash.test.ts).
  it('refunds a submission an older engine (no submission key) left in submitting, once the token expired', async () => {
    const headers = be.bearer(await be.userJwt({ sub: 'stuck-submit' }));
    const { data } = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'claim-1' }, headers });
    // As if an engine before schema 4 died right after claiming the token, before TTTranscribe answered.
    sqliteDb(be).prepare("UPDATE service_tokens SET state = 'submitting' WHERE jti = ?").run(data!.tokenId);
    be.clock.ms += 900_000;
    expect((await be.engine.sweeper.runOnce()).interruptedRefunded).toBe(0);
    be.clock.ms += 31_000;
    expect((await be.engine.sweeper.runOnce()).interruptedRefunded).toBe(1);
    expect((await be.engine.sweeper.runOnce()).interruptedRefunded).toBe(0);
    expect(await be.engine.store.tokens.get(data!.tokenId)).toMatchObject({
      state: 'refunded',
      refundReason: 'submission_interrupted',
    });
    be.clock.ms = ENGINE_T0_MS;
    expect(await balance('stuck-submit')).toBe(3);
  });
});

describe('Sweeper reconciliation of jobs TTTranscribe lost', () => {
  it('refunds a submitted job TTTranscribe answers job_not_found for, once', async () => {
    const { be, ttt, vend, close } = await startEngineWithFakeTtt({ SIGNUP_BONUS_CREDITS: '3' });
    try {
      ttt.respond(() => ({
        status: 202,
        body: {
          ok: true,
          jobId: 'job_LOST0000000001',
          status: 'queued',
          submittedAt: new Date(ENGINE_T0_MS).toISOString(),
        },
      }));
      const vended = await vend('lost-user');
      expect(
        (
          await be.client.POST('/ttt/transcribe', {
            body: { url: 'https://media.example.com/a.mp4' },
            headers: be.bearer(vended.token),
          })
        ).response.status,
      ).toBe(202);
      ttt.respond(() =>
        upstreamProblem(404, 'job_not_found', 'No job with id job_LOST0000000001 exists.', {
          jobId: 'job_LOST0000000001',
        }),
      );
      expect((await be.engine.sweeper.runOnce()).jobsRefunded).toBe(1);
      expect((await be.engine.sweeper.runOnce()).jobsRefunded).toBe(0);
      expect(await be.engine.store.tokens.get(vended.tokenId)).toMatchObject({
        state: 'refunded',
        refundReason: 'job_lost',
      });
    } finally {
      await close();
    }
  });
});

describe('Sweeper polling of submitted jobs', () => {
  it('pages through more submitted jobs than one batch, so none is starved, then starts over', async () => {
    const { be, ttt, vend, close } = await startEngineWithFakeTtt();
    try {
      let n = 0;
      const at = new Date(ENGINE_T0_MS).toISOString();
      ttt.respond((req) => {
        if (req.method === 'POST') {
          return {
            status: 202,
            body: {
              ok: true,
              jobId: `job_PAGE${String((n += 1)).padStart(8, '0')}`,
              status: 'queued',
              submittedAt: at,
            },
          };
        }
        const jobId = /^\/status\/(job_\w+)$/.exec(req.target)?.[1] ?? '';
        return {
          status: 200,
          body: {
            ok: true,
            jobId,
            status: 'processing',
            stage: 'transcribing',
            progress: 0.5,
            url: 'https://media.example.com/a.mp4',
            language: 'en',
            submittedAt: at,
            startedAt: at,
            updatedAt: at,
            completedAt: null,
          },
        };
      });
      for (let i = 0; i < 5; i++) {
        const { token } = await vend('paging-user');
        expect(
          (
            await be.client.POST('/ttt/transcribe', {
              body: { url: 'https://media.example.com/a.mp4' },
              headers: be.bearer(token),
            })
          ).response.status,
        ).toBe(202);
      }
      // A sweeper like the engine's, with a batch of 2 and one poll at a time.
      const sweeper = new Sweeper({
        tokens: be.engine.store.tokens,
        upstream: be.engine.upstream,
        now: () => be.clock.ms,
        logger: pino({ level: 'silent' }),
        batchSize: 2,
        pollConcurrency: 1,
      });
      const polled = async () => {
        const before = ttt.requests.length;
        const report = await sweeper.runOnce();
        expect(report.pollErrors).toBe(0);
        return ttt.requests.slice(before).map((r) => r.target.replace('/status/', ''));
      };
      const rounds = [await polled(), await polled(), await polled()];
      expect(rounds.map((r) => r.length)).toEqual([2, 2, 1]);
      expect(new Set(rounds.flat())).toEqual(
        new Set(['job_PAGE00000001', 'job_PAGE00000002', 'job_PAGE00000003', 'job_PAGE00000004', 'job_PAGE00000005']),
      );
      expect(await polled()).toEqual(rounds[0]);
      expect(
        () =>
          new Sweeper({
            tokens: be.engine.store.tokens,
            upstream: be.engine.upstream,
            now: Date.now,
            logger: pino({ level: 'silent' }),
            pollConcurrency: 0,
          }),
      ).toThrow(/pollConcurrency/);
    } finally {
      await close();
    }
  });
});
