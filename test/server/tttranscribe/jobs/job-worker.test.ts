import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { jobFailureCatalog, jobFailureCodes } from '../../../../generated/errors.js';
import { openJobDatabase } from '../../../../server/tttranscribe/jobs/database.js';
import type { JobProcessor } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { createSqliteJobStore } from '../../../../server/tttranscribe/jobs/sqlite-job-store.js';
import { createMediaProcessor } from '../../../../server/tttranscribe/media/create-media-processor.js';
import { startTttTestApp, T0_MS, type TttTestApp } from '../../../helpers/ttt-app.js';
import {
  abortAwareProcessor,
  crashingProcessor,
  failingProcessor,
  FAKE_RESULT,
  gatedProcessor,
  succeedingProcessor,
} from '../../../helpers/ttt-processors.js';

const URL_OK = 'https://media.example.com/clip.mp4';

async function submit(t: TttTestApp): Promise<string> {
  const { data, error } = await t.client.POST('/transcribe', {
    body: { url: URL_OK },
    headers: { Authorization: `Bearer ${await t.issuer.mint()}` },
  });
  if (!data) throw new Error(`submit failed: ${error.code}`);
  return data.jobId;
}
const statusOf = async (t: TttTestApp, jobId: string) =>
  (await t.client.GET('/status/{jobId}', { params: { path: { jobId } } })).data;

describe('job outcomes and the worker (one app, processor switched per test)', () => {
  let ttt: TttTestApp;
  let current: JobProcessor = succeedingProcessor();
  let timeout = new AbortController();
  const timeoutsAsked: number[] = [];

  beforeAll(async () => {
    ttt = await startTttTestApp({
      processor: (job, ctx) => current(job, ctx),
      timeoutSignal: (ms) => {
        timeoutsAsked.push(ms);
        return timeout.signal;
      },
    });
  });
  afterAll(async () => {
    await ttt.close();
  });
  beforeEach(() => {
    timeout = new AbortController();
    ttt.clock.ms = T0_MS;
  });

  it('completes a job with the transcript and engine', async () => {
    current = succeedingProcessor();
    const jobId = await submit(ttt);
    expect(await ttt.service.worker.drain()).toBe(1);
    expect(await statusOf(ttt, jobId)).toMatchObject({
      status: 'completed',
      stage: 'done',
      progress: 1,
      transcript: FAKE_RESULT.transcript,
      engine: { name: 'test-double', model: 'fixture' },
    });
    expect(timeoutsAsked.at(-1)).toBe(300_000);
  });

  it.each(jobFailureCodes.map((code) => [code] as const))(
    'a JobFailure(%s) -> failed with that code and its catalog metadata',
    async (code) => {
      current = failingProcessor(code, `message for ${code}`);
      const jobId = await submit(ttt);
      await ttt.service.worker.drain();
      expect(await statusOf(ttt, jobId)).toMatchObject({
        status: 'failed',
        stage: 'fetching',
        error: {
          code,
          message: `message for ${code}`,
          retryable: jobFailureCatalog[code].retryable,
          responsibility: jobFailureCatalog[code].responsibility,
        },
      });
    },
  );

  it('an unexpected exception -> transcription_failed, logged with the job id', async () => {
    current = crashingProcessor(new Error('segfault in the speech engine'));
    const jobId = await submit(ttt);
    await ttt.service.worker.drain();
    expect((await statusOf(ttt, jobId))?.error).toMatchObject({
      code: 'transcription_failed',
      retryable: true,
      responsibility: 'upstream',
    });
    const line = ttt.logs.find((l) => l['jobId'] === jobId && l['level'] === 50);
    expect(line).toMatchObject({
      msg: 'job failed with an unexpected error',
      err: { message: 'segfault in the speech engine' },
    });
  });

  it('past the time limit -> job_timed_out (a processor that honours the signal)', async () => {
    current = abortAwareProcessor();
    const jobId = await submit(ttt);
    const run = ttt.service.worker.runOnce();
    await vi.waitFor(() => expect(ttt.service.worker.active).toBe(1));
    timeout.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    await run;
    expect((await statusOf(ttt, jobId))?.error).toMatchObject({
      code: 'job_timed_out',
      message: expect.stringContaining('300 seconds'),
    });
  });

  it('past the time limit -> job_timed_out even when the processor ignores the signal', async () => {
    const gate = gatedProcessor();
    current = gate.processor;
    const jobId = await submit(ttt);
    const run = ttt.service.worker.runOnce();
    await vi.waitFor(() => expect(gate.pending).toHaveLength(1));
    timeout.abort(new DOMException('The operation timed out.', 'TimeoutError'));
    await run;
    expect((await statusOf(ttt, jobId))?.error?.code).toBe('job_timed_out');
    gate.pending[0]?.resolve(); // settles late; the outcome stays
    await new Promise((resolve) => setImmediate(resolve));
    expect((await statusOf(ttt, jobId))?.status).toBe('failed');
  });

  it('the real media pipeline with no speech engine -> transcription_engine_unavailable, never a transcript', async () => {
    current = createMediaProcessor({ engine: { kind: 'none' } });
    const jobId = await submit(ttt);
    await ttt.service.worker.drain();
    const status = await statusOf(ttt, jobId);
    expect(status).toMatchObject({
      status: 'failed',
      error: { code: 'transcription_engine_unavailable', responsibility: 'operator' },
    });
    expect(status?.transcript).toBeUndefined();
  });

  it('progress is written throttled: stage changes, 5-point steps, or once a second', async () => {
    const gate = gatedProcessor();
    current = gate.processor;
    const jobId = await submit(ttt);
    const write = vi.spyOn(ttt.service.store, 'reportProgress');
    const run = ttt.service.worker.runOnce();
    await vi.waitFor(() => expect(gate.pending).toHaveLength(1));
    const { ctx } = gate.pending[0] ?? expect.fail('job did not start');
    for (let i = 0; i <= 100; i++) ctx.onProgress('transcribing', (400 + i) / 1000);
    expect(write.mock.calls.map((c) => c[3])).toEqual([0.4, 0.45, 0.5]);
    ttt.clock.ms += 1_000;
    ctx.onProgress('transcribing', 0.501);
    expect(write).toHaveBeenCalledTimes(4);
    ctx.onProgress('transcribing', 0.2); // never backwards
    expect((await statusOf(ttt, jobId))?.progress).toBe(0.501);
    gate.pending[0]?.resolve();
    await run;
    write.mockRestore();
  });

  describe('the running worker (each test starts and stops it)', () => {
    it('runs at most TTT_WORKER_CONCURRENCY jobs at once and picks up the next as one finishes', async () => {
      const gate = gatedProcessor();
      current = gate.processor;
      const ids = [await submit(ttt), await submit(ttt), await submit(ttt)];
      ttt.service.worker.start();
      await vi.waitFor(() => expect(gate.started).toEqual(ids.slice(0, 2)));
      expect(await ttt.service.store.counts()).toEqual({ queued: 1, processing: 2 });
      gate.pending[0]?.resolve();
      await vi.waitFor(() => expect(gate.started).toEqual(ids));
      expect(ttt.service.worker.active).toBe(2);
      gate.pending.slice(1).forEach((p) => p.resolve());
      await ttt.service.worker.stop();
      for (const id of ids) expect((await statusOf(ttt, id))?.status).toBe('completed');
    });

    it('a job submitted while running is picked up without waiting for a poll', async () => {
      const gate = gatedProcessor();
      current = gate.processor;
      ttt.service.worker.start();
      const jobId = await submit(ttt);
      await vi.waitFor(() => expect(gate.started).toEqual([jobId]));
      gate.pending[0]?.resolve();
      await ttt.service.worker.stop();
      expect((await statusOf(ttt, jobId))?.status).toBe('completed');
    });

    it('a job claimed while the worker stops is handed back to the queue, never run unwatched', async () => {
      const gate = gatedProcessor();
      current = gate.processor;
      const jobId = await submit(ttt);
      const claimNext = ttt.service.store.claimNext.bind(ttt.service.store);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const spy = vi.spyOn(ttt.service.store, 'claimNext').mockImplementation(async (lease) => {
        await held; // the claim is still in flight when stop() is called
        return claimNext(lease);
      });
      try {
        ttt.service.worker.start();
        await vi.waitFor(() => expect(spy).toHaveBeenCalled());
        const stopped = ttt.service.worker.stop();
        release();
        await stopped;
        expect(gate.started).toEqual([]);
        expect(await statusOf(ttt, jobId)).toMatchObject({ status: 'queued', stage: 'queued', startedAt: null });
      } finally {
        spy.mockRestore();
      }
      current = succeedingProcessor();
      await ttt.service.worker.drain();
    });

    it('on shutdown, a job still running after the grace period is aborted and requeued', async () => {
      current = abortAwareProcessor();
      const jobId = await submit(ttt);
      ttt.service.worker.start();
      await vi.waitFor(() => expect(ttt.service.worker.active).toBe(1));
      expect((await statusOf(ttt, jobId))?.status).toBe('processing');
      await ttt.service.worker.stop({ graceMs: 0 });
      expect(await statusOf(ttt, jobId)).toMatchObject({
        status: 'queued',
        stage: 'queued',
        progress: 0,
        startedAt: null,
      });

      current = succeedingProcessor(); // the next start runs it to the end
      ttt.service.worker.start();
      await vi.waitFor(async () => expect((await statusOf(ttt, jobId))?.status).toBe('completed'));
      await ttt.service.worker.stop();
    });
  });
});

describe('crash recovery', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ttt-recovery-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('after a crash, jobs left processing are requeued and completed once their lease expires; one claimed 3 times fails', async () => {
    const dbPath = join(dir, 'jobs.db');
    // The "crashed" process: two jobs claimed (processing, 30 s leases), never finished, database closed.
    const crashed = openJobDatabase(dbPath);
    const store = createSqliteJobStore(crashed, { now: () => T0_MS });
    const job = (id: string, jti: string) => ({
      id,
      tokenJti: jti,
      subject: 'user-1',
      url: URL_OK,
      language: null,
      requestId: null,
      idempotencyKey: null,
    });
    expect((await store.insert(job('job_RECOVER000000000000000001', 'jti-a'))).outcome).toBe('created');
    expect((await store.insert(job('job_POISON0000000000000000001', 'jti-b'))).outcome).toBe('created');
    await store.claimNext({ owner: 'crashed-worker', ms: 30_000 });
    await store.claimNext({ owner: 'crashed-worker', ms: 30_000 });
    crashed.prepare(`UPDATE jobs SET attempts = 3 WHERE id = 'job_POISON0000000000000000001'`).run();
    crashed.close();

    const ttt = await startTttTestApp({ dbPath, processor: succeedingProcessor() });
    try {
      expect((await statusOf(ttt, 'job_RECOVER000000000000000001'))?.status).toBe('processing');
      expect(await ttt.service.worker.recoverExpiredLeases()).toEqual({ requeued: [], failed: [] }); // the lease still runs
      ttt.clock.ms = T0_MS + 30_000;
      ttt.service.worker.start();
      await vi.waitFor(async () =>
        expect((await statusOf(ttt, 'job_RECOVER000000000000000001'))?.status).toBe('completed'),
      );
      await ttt.service.worker.stop();
      expect((await statusOf(ttt, 'job_POISON0000000000000000001'))?.error).toMatchObject({
        code: 'transcription_failed',
        message: expect.stringContaining('interrupted 3 times'),
      });
      expect(ttt.logs.find((l) => l['msg'] === 'recovered jobs whose worker stopped (lease expired)')).toMatchObject({
        requeued: ['job_RECOVER000000000000000001'],
        failed: ['job_POISON0000000000000000001'],
      });
    } finally {
      await ttt.close();
    }
  });
});
