import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { abortReason } from '../abort-reason.js';
import { JobFailure, type JobProcessor, type JobResult, type JobStage } from './job-processor.js';
import type { JobRecord, JobStore, Lease, LeaseRecovery } from './job-store.js';

export interface JobWorkerOptions {
  readonly store: JobStore;
  readonly processor: JobProcessor;
  readonly logger: Logger;
  /** Jobs processed at the same time (TTT_WORKER_CONCURRENCY). */
  readonly concurrency: number;
  /** Per-job time limit (TTT_JOB_TIMEOUT_SEC × 1000); past it the job fails with job_timed_out. */
  readonly jobTimeoutMs: number;
  /** Clock in ms, used for leases and to throttle progress writes. */
  readonly now?: () => number;
  /** Builds a job's time-limit signal (default `AbortSignal.timeout`); tests pass one they abort themselves. */
  readonly timeoutSignal?: (ms: number) => AbortSignal;
  /** How often a started worker looks for queued jobs and expired leases besides being notified (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** A job claimed this many times whose lease expired again fails instead of being requeued (TTT_JOB_MAX_ATTEMPTS, default 3). */
  readonly maxAttempts?: number;
  /** How long a claim lasts without renewal (TTT_JOB_LEASE_SEC × 1000, default 30 s). */
  readonly leaseMs?: number;
  /** How often a running job's lease is renewed (default a third of `leaseMs`). */
  readonly renewEveryMs?: number;
  /** This worker's lease owner name (default host:pid:random, unique per worker instance). */
  readonly workerId?: string;
}

export interface JobWorker {
  /** Processes queued jobs continuously, and requeues (or fails) jobs whose worker's lease expired. */
  start(): void;
  /** Stops claiming; waits up to `graceMs` for running jobs, then aborts them and puts them back in the queue. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** A job was queued: look for work now rather than at the next poll. */
  notify(): void;
  /** Claims up to `concurrency` queued jobs and runs them to the end (for tests; do not mix with start). */
  runOnce(): Promise<number>;
  /** Runs jobs until none is queued; returns how many ran (for tests; do not mix with start). */
  drain(): Promise<number>;
  /** Requeues, or fails after maxAttempts, processing jobs whose lease expired (start does this on every poll). */
  recoverExpiredLeases(): Promise<LeaseRecovery>;
  /** Jobs running now. */
  readonly active: number;
  /** The lease owner name of this worker. */
  readonly id: string;
}

/**
 * The reason given to running jobs when the service shuts down; the media pipeline rethrows it unchanged and the
 * worker requeues the job.
 *
 * @example
 * if (ctx.signal.reason instanceof WorkerShutdown) throw ctx.signal.reason; // let the worker requeue
 */
export class WorkerShutdown extends Error {
  override readonly name = 'WorkerShutdown';
}

/** The reason given to a running job whose lease could not be renewed: another worker may have it now. */
export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

const PROGRESS_MIN_DELTA = 0.05;
const PROGRESS_MIN_INTERVAL_MS = 1000;

/**
 * The job worker: claims queued jobs under a lease with bounded concurrency (any number of workers, in any
 * process, may share one store), renews each lease while the job runs, runs it through the processor under a time
 * limit, and records the outcome only while it still holds the lease: completed with the transcript, or failed with
 * a job failure code (a JobFailure's own code; `job_timed_out` past the limit; `transcription_failed` for anything
 * unexpected, logged with the job id). A job whose worker died is recovered once its lease expires: requeued for
 * another worker, or failed after `maxAttempts` claims. Progress is written throttled.
 *
 * @example
 * const worker = createJobWorker({ store, processor, logger, concurrency: 2, jobTimeoutMs: 300_000 });
 * worker.start();                  // start-service.ts or worker-main.ts
 * await worker.stop({ graceMs: 10_000 }); // on SIGTERM
 */
export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const { store, processor, logger, concurrency, jobTimeoutMs } = options;
  const now = options.now ?? Date.now;
  const timeoutSignal = options.timeoutSignal ?? ((ms: number) => AbortSignal.timeout(ms));
  const maxAttempts = options.maxAttempts ?? 3;
  const leaseMs = options.leaseMs ?? 30_000;
  const renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 3));
  if (!(leaseMs > 0) || !(renewEveryMs > 0) || renewEveryMs >= leaseMs)
    throw new RangeError('the lease renewal must be shorter than the lease');
  if (!(maxAttempts >= 1)) throw new RangeError('maxAttempts must be at least 1');
  const id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const lease: Lease = { owner: id, ms: leaseMs };
  let shutdown = new AbortController();
  const running = new Map<string, Promise<void>>();
  let started = false;
  let pumping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function progressWriter(jobId: string, isSettled: () => boolean): (stage: JobStage, progress: number) => void {
    let stageWritten: JobStage | undefined;
    let progressWritten = 0;
    let writtenAt = -Infinity;
    return (stage, progress) => {
      if (isSettled() || !Number.isFinite(progress)) return;
      const p = Math.min(1, Math.max(progressWritten, progress));
      const at = now();
      // The epsilon keeps float steps such as 0.4 + 50 × 0.001 from falling just short of the delta.
      if (
        stage === stageWritten &&
        p - progressWritten < PROGRESS_MIN_DELTA - 1e-9 &&
        at - writtenAt < PROGRESS_MIN_INTERVAL_MS
      )
        return;
      if (stage === stageWritten && p === progressWritten) return;
      stageWritten = stage;
      progressWritten = p;
      writtenAt = at;
      store.reportProgress(jobId, id, stage, Math.round(p * 1000) / 1000).catch((error: unknown) => {
        logger.warn({ jobId, err: error }, 'could not record job progress');
      });
    };
  }

  /** Renews the job's lease every renewEveryMs; aborts `lost` when the lease is no longer ours. */
  function keepLease(jobId: string, lost: AbortController): () => void {
    const renew = setInterval(() => {
      store.renewLease(jobId, lease).then(
        (held) => {
          if (!held && !lost.signal.aborted) lost.abort(new LeaseLost(`worker ${id} no longer holds job ${jobId}`));
        },
        (error: unknown) => logger.warn({ jobId, err: error }, 'could not renew the job lease; retrying'),
      );
    }, renewEveryMs);
    renew.unref();
    return () => clearInterval(renew);
  }

  async function runJob(job: JobRecord): Promise<void> {
    const timeout = timeoutSignal(jobTimeoutMs);
    const stopping = shutdown.signal;
    const lost = new AbortController();
    const signal = AbortSignal.any([timeout, stopping, lost.signal]);
    let settled = false;
    const onProgress = progressWriter(job.id, () => settled);
    const stopRenewing = keepLease(job.id, lost);
    logger.info({ jobId: job.id, requestId: job.requestId, attempt: job.attempts, worker: id }, 'job started');
    try {
      const work = processor(
        { jobId: job.id, url: job.url, language: job.language ?? undefined },
        { signal, onProgress },
      );
      work.catch(() => undefined); // a processor that ignores the signal may still reject later
      const result = await untilAborted(work, signal);
      settled = true;
      assertResult(result);
      if (await store.complete(job.id, id, result))
        logger.info({ jobId: job.id, engine: result.engine, model: result.model }, 'job completed');
      else
        logger.warn(
          { jobId: job.id, worker: id },
          'job finished after its lease was lost; another worker owns it, result discarded',
        );
    } catch (error) {
      settled = true;
      await recordFailure(job, error, { timeout, stopping, lost: lost.signal });
    } finally {
      stopRenewing();
    }
  }

  async function recordFailure(
    job: JobRecord,
    error: unknown,
    signals: { timeout: AbortSignal; stopping: AbortSignal; lost: AbortSignal },
  ): Promise<void> {
    const { timeout, stopping, lost } = signals;
    const written = (
      done: boolean,
      message: string,
      fields: Record<string, unknown> = {},
      level: 'info' | 'warn' | 'error' = 'info',
    ) => {
      if (done) logger[level]({ jobId: job.id, ...fields }, message);
      else
        logger.warn(
          { jobId: job.id, worker: id },
          'job lease lost before its outcome was recorded; another worker owns it',
        );
    };
    try {
      if (lost.aborted) {
        logger.warn(
          { jobId: job.id, worker: id },
          'job lease lost while running; stopped without recording an outcome',
        );
      } else if (stopping.aborted && !timeout.aborted) {
        // Whatever the processor made of the abort, the job itself did nothing wrong: run it again later.
        written(await store.release(job.id, id), 'job interrupted by shutdown; requeued');
      } else if (error instanceof JobFailure) {
        written(await store.fail(job.id, id, error.code, error.message), 'job failed', {
          code: error.code,
          err: error.cause,
        });
      } else if (timeout.aborted) {
        written(
          await store.fail(
            job.id,
            id,
            'job_timed_out',
            `The job did not finish within ${Math.round(jobTimeoutMs / 1000)} seconds; send a shorter clip or retry later.`,
          ),
          'job timed out',
          { timeoutMs: jobTimeoutMs },
          'warn',
        );
      } else {
        written(
          await store.fail(
            job.id,
            id,
            'transcription_failed',
            'The transcription failed unexpectedly; retry with a new service token and report the job id if it persists.',
          ),
          'job failed with an unexpected error',
          { err: error },
          'error',
        );
      }
    } catch (storeError) {
      // The lease then expires and the job is recovered by whichever worker sweeps first: never lost.
      logger.error({ jobId: job.id, err: storeError, cause: error }, 'could not record the job outcome');
    }
  }

  async function claim(): Promise<JobRecord | undefined> {
    try {
      return await store.claimNext(lease);
    } catch (error) {
      logger.error({ err: error }, 'could not claim a queued job');
      return undefined;
    }
  }

  function launch(job: JobRecord): Promise<void> {
    const promise = runJob(job).finally(() => {
      running.delete(job.id);
      // After any pump in flight (it may be about to stop looking), so the freed slot is filled now.
      if (started) void (pumping ?? Promise.resolve()).then(() => (started ? pump() : undefined));
    });
    running.set(job.id, promise);
    return promise;
  }

  function pump(): Promise<void> {
    pumping ??= claimWhileFree().finally(() => {
      pumping = undefined;
    });
    return pumping;
  }

  async function claimWhileFree(): Promise<void> {
    while (started && running.size < concurrency) {
      const job = await claim();
      if (!job) return;
      // TypeScript narrows `started` to true from the loop's test, but stop() may clear it while claim() awaits.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
      if (!started) {
        // stop() came while the claim was in flight: hand the job straight back rather than run it unwatched.
        await store
          .release(job.id, id)
          .catch((error: unknown) =>
            logger.warn({ jobId: job.id, err: error }, 'could not requeue a job claimed during shutdown'),
          );
        return;
      }
      void launch(job);
    }
  }

  async function runOnce(): Promise<number> {
    const batch: Promise<void>[] = [];
    while (batch.length + running.size < concurrency) {
      const job = await claim();
      if (!job) break;
      batch.push(launch(job));
    }
    await Promise.all(batch);
    return batch.length;
  }

  async function recoverExpiredLeases(): Promise<LeaseRecovery> {
    const result = await store.recoverExpiredLeases(maxAttempts);
    if (result.requeued.length + result.failed.length > 0)
      logger.warn({ ...result, worker: id }, 'recovered jobs whose worker stopped (lease expired)');
    return result;
  }

  async function tick(): Promise<void> {
    try {
      await recoverExpiredLeases();
    } catch (error) {
      logger.error({ err: error }, 'could not recover jobs with expired leases');
    }
    await pump();
  }

  return {
    start() {
      if (started) return;
      if (shutdown.signal.aborted) shutdown = new AbortController();
      started = true;
      timer = setInterval(() => void tick(), options.pollIntervalMs ?? 1000);
      timer.unref();
      void tick();
    },
    async stop({ graceMs = 10_000 } = {}) {
      started = false;
      clearInterval(timer);
      await pumping; // a claim in flight either launches before this or hands its job back
      const all = () => Promise.all(running.values()).then(() => undefined);
      if (running.size === 0) return;
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace_over'>((resolve) => {
        graceTimer = setTimeout(() => resolve('grace_over'), graceMs);
      });
      const outcome = await Promise.race([all(), graceOver]);
      clearTimeout(graceTimer);
      if (outcome === 'grace_over') {
        shutdown.abort(new WorkerShutdown('TTTranscribe is shutting down'));
        await all();
      }
    },
    notify() {
      if (started) setImmediate(() => void (pumping ?? Promise.resolve()).then(() => (started ? pump() : undefined)));
    },
    runOnce,
    async drain() {
      let total = 0;
      for (let n = await runOnce(); n > 0; n = await runOnce()) total += n;
      return total;
    },
    recoverExpiredLeases,
    get active() {
      return running.size;
    },
    id,
  };
}

/** Settles with the work, or rejects with the signal's reason as soon as it aborts (even if the work ignores it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A processor is pluggable: its result is checked at run time, whatever its type says (it may be undefined). */
function assertResult(result: JobResult | undefined): void {
  if (typeof result?.transcript !== 'string' || typeof result.engine !== 'string' || result.engine === '') {
    throw new TypeError('The job processor returned no transcript or engine name.');
  }
}
