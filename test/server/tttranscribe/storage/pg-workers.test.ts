import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobProcessor } from '../../../../server/tttranscribe/jobs/job-processor.js';
import type { NewJob } from '../../../../server/tttranscribe/jobs/job-store.js';
import { createJobWorker, type JobWorkerOptions } from '../../../../server/tttranscribe/jobs/job-worker.js';
import { openTttStorage, type TttStorage } from '../../../../server/tttranscribe/storage.js';
import { createTestDatabase } from '../../../helpers/postgres.js';
import { memoryLogger } from '../../../helpers/ttt-app.js';
import { FAKE_RESULT, gatedProcessor } from '../../../helpers/ttt-processors.js';

const T0 = Date.UTC(2026, 0, 1);
const URL_OK = 'https://media.example.com/clip.mp4';
let seq = 0;
const newJob = (): NewJob => {
  seq += 1;
  return {
    id: `job_PGWORKER${String(seq).padStart(12, '0')}`,
    tokenJti: `jti-w-${seq}`,
    subject: 'user-1',
    url: URL_OK,
    language: null,
    requestId: null,
    idempotencyKey: null,
  };
};

let db: { url: string; drop: () => Promise<void> };
const opened: TttStorage[] = [];
const open = async (now: () => number = Date.now) => {
  const s = await openTttStorage(db.url, { poolMax: 4, now });
  opened.push(s);
  return s;
};
beforeEach(async () => {
  db = await createTestDatabase('ttt_workers');
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await db.drop();
});

function worker(storage: TttStorage, processor: JobProcessor, over: Partial<JobWorkerOptions> = {}) {
  const { logger, logs } = memoryLogger();
  return {
    logs,
    worker: createJobWorker({
      store: storage.jobs,
      processor,
      logger,
      concurrency: 3,
      jobTimeoutMs: 60_000,
      pollIntervalMs: 20,
      ...over,
    }),
  };
}

describe('TTTranscribe workers on one PostgreSQL database', () => {
  it('two workers claim 30 jobs between them: every job processed exactly once, all completed', async () => {
    const a = await open();
    const b = await open();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const job = newJob();
      ids.push(job.id);
      await a.jobs.insert(job);
    }
    const processed: Array<{ worker: string; jobId: string }> = [];
    // Each job waits until both workers hold one, so the sharing is decided by the claims, not by which worker's
    // first poll a busy machine happens to run first: a worker whose slots are all waiting cannot take them all.
    let bothClaimed: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (bothClaimed = resolve));
    const processorOf =
      (name: string): JobProcessor =>
      async (job) => {
        processed.push({ worker: name, jobId: job.jobId });
        if (new Set(processed.map((p) => p.worker)).size === 2) bothClaimed();
        await both;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return FAKE_RESULT;
      };
    const wa = worker(a, processorOf('a')).worker;
    const wb = worker(b, processorOf('b')).worker;
    wa.start();
    wb.start();
    await vi.waitFor(async () => expect(await a.jobs.countByState()).toEqual({ completed: 30 }), { timeout: 15_000 });
    await Promise.all([wa.stop(), wb.stop()]);
    expect(processed.map((p) => p.jobId).sort()).toEqual([...ids].sort());
    expect(new Set(processed.map((p) => p.worker))).toEqual(new Set(['a', 'b']));
  });

  it('a worker that stalls past its lease loses the job to the other worker, which completes it; the stalled one writes nothing', async () => {
    const clock = { ms: T0 };
    const a = await open(() => clock.ms);
    const b = await open(() => clock.ms);
    const job = newJob();
    await a.jobs.insert(job);
    const gate = gatedProcessor();
    // No renewal during the test: the lease runs out as if the worker had frozen or died.
    const stalled = worker(a, gate.processor, { leaseMs: 30_000, renewEveryMs: 29_999, now: () => clock.ms });
    const run = stalled.worker.runOnce();
    await vi.waitFor(() => expect(gate.pending).toHaveLength(1));

    clock.ms += 30_000;
    const second = worker(b, async () => ({ ...FAKE_RESULT, transcript: 'from worker b' }), { now: () => clock.ms });
    expect(await second.worker.recoverExpiredLeases()).toEqual({ requeued: [job.id], failed: [] });
    // The requeued job is taken by the other worker (a claim that found the row held for a moment, SKIP LOCKED,
    // comes back empty and is simply asked again, as the worker's poll would).
    await vi.waitFor(async () => expect(await second.worker.runOnce()).toBe(1), { timeout: 5000 });
    gate.pending[0]?.resolve({ ...FAKE_RESULT, transcript: 'from worker a' });
    await run;

    expect(await a.jobs.get(job.id)).toMatchObject({ status: 'completed', transcript: 'from worker b', attempts: 2 });
    expect(
      stalled.logs.find((l) => l['jobId'] === job.id && String(l['msg']).includes('lease was lost')),
    ).toBeDefined();
  });

  it('a job whose workers keep dying fails with transcription_failed after TTT_JOB_MAX_ATTEMPTS, exactly once', async () => {
    const clock = { ms: T0 };
    const a = await open(() => clock.ms);
    const job = newJob();
    await a.jobs.insert(job);
    await a.jobs.claimNext({ owner: 'dead-worker', ms: 30_000 });
    clock.ms += 30_000;
    const sweepers = [
      worker(a, gatedProcessor().processor, { maxAttempts: 1, now: () => clock.ms }),
      worker(await open(() => clock.ms), gatedProcessor().processor, { maxAttempts: 1, now: () => clock.ms }),
    ];
    const results = await Promise.all(sweepers.map((s) => s.worker.recoverExpiredLeases()));
    expect(results.flatMap((r) => r.failed)).toEqual([job.id]);
    expect(await a.jobs.get(job.id)).toMatchObject({
      status: 'failed',
      errorCode: 'transcription_failed',
      errorMessage: expect.stringContaining('interrupted 1 times'),
    });
  });

  it('a worker process killed with SIGKILL mid-job: the job is taken by another worker and completed exactly once', async () => {
    const a = await open();
    const job = newJob();
    await a.jobs.insert(job);
    const child = fork(fileURLToPath(new URL('./fixtures/hanging-worker.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        PATH: process.env['PATH'] ?? '',
        TTT_DB: db.url,
        TTT_JOB_LEASE_SEC: '30',
        LOG_LEVEL: 'silent',
        TTT_TRANSCRIBER: 'none',
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const started = await new Promise<string>((resolve, reject) => {
        child.on('message', (m: { started?: string }) => m.started && resolve(m.started));
        child.once('exit', (code) => reject(new Error(`the worker exited ${code}: ${stderr}`)));
      });
      expect(started).toBe(job.id);
      expect(await a.jobs.get(job.id)).toMatchObject({ status: 'processing', attempts: 1 });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve),
    );

    // The other worker's clock is past the dead worker's 30 s lease (no need to wait for it).
    const later = () => Date.now() + 31_000;
    const b = await open(later);
    const seen: string[] = [];
    const other = worker(
      b,
      async (input) => {
        seen.push(input.jobId);
        return FAKE_RESULT;
      },
      { now: later },
    );
    expect(await other.worker.recoverExpiredLeases()).toEqual({ requeued: [job.id], failed: [] });
    expect(await other.worker.drain()).toBe(1);
    expect(seen).toEqual([job.id]);
    expect(await a.jobs.get(job.id)).toMatchObject({
      status: 'completed',
      attempts: 2,
      transcript: FAKE_RESULT.transcript,
    });
    expect(await other.worker.recoverExpiredLeases()).toEqual({ requeued: [], failed: [] });
  }, 30_000);
});
