import type { Logger } from 'pino';
import { JobFailure, type JobProcessor, type JobResult, type JobStage } from './job-processor.js';
import type { JobRecord, JobStore } from './job-store.js';

export interface JobWorkerOptions {
  readonly store: JobStore;
  readonly processor: JobProcessor;
  readonly logger: Logger;
  /** Jobs processed at the same time (TTT_WORKER_CONCURRENCY). */
  readonly concurrency: number;
  /** Per-job time limit (TTT_JOB_TIMEOUT_SEC × 1000); past it the job fails with job_timed_out. */
  readonly jobTimeoutMs: number;
  /** Clock in ms, used to throttle progress writes. */
  readonly now?: () => number;
  /** Builds a job's time-limit signal (default `AbortSignal.timeout`); tests pass one they abort themselves. */
  readonly timeoutSignal?: (ms: number) => AbortSignal;
  /** How often a started worker looks for queued jobs besides being notified (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** A job interrupted this many times (crashes) fails instead of being requeued again (default 3). */
  readonly maxAttempts?: number;
}

export interface JobWorker {
  /** Requeues jobs a crash left processing, then processes queued jobs continuously. */
  start(): void;
  /** Stops claiming; waits up to `graceMs` for running jobs, then aborts them and requeues them. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** A job was queued: look for work now rather than at the next poll. */
  notify(): void;
  /** Claims up to `concurrency` queued jobs and runs them to the end (for tests; do not mix with start). */
  runOnce(): Promise<number>;
  /** Runs jobs until none is queued; returns how many ran (for tests; do not mix with start). */
  drain(): Promise<number>;
  /** Requeues jobs left processing by a crash (start does this); returns what it did. */
  recoverInterrupted(): { requeued: string[]; failed: string[] };
  /** Jobs running now. */
  readonly active: number;
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

const PROGRESS_MIN_DELTA = 0.05;
const PROGRESS_MIN_INTERVAL_MS = 1000;

/**
 * The job worker: claims queued jobs atomically with bounded concurrency, runs each through the processor under a
 * time limit, and records the outcome: completed with the transcript, or failed with a job failure code
 * (a JobFailure's own code; `job_timed_out` past the limit; `transcription_failed` for anything unexpected, which
 * is logged with the job id). Progress is written throttled: on a stage change, a 5-point step, or once a second.
 *
 * @example
 * const worker = createJobWorker({ store, processor, logger, concurrency: 2, jobTimeoutMs: 300_000 });
 * worker.start();                  // main.ts
 * await worker.stop({ graceMs: 10_000 }); // on SIGTERM
 */
export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const { store, processor, logger, concurrency, jobTimeoutMs } = options;
  const now = options.now ?? Date.now;
  const timeoutSignal = options.timeoutSignal ?? ((ms: number) => AbortSignal.timeout(ms));
  const maxAttempts = options.maxAttempts ?? 3;
  let shutdown = new AbortController();
  const running = new Map<string, Promise<void>>();
  let started = false;
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
      if (stage === stageWritten && p - progressWritten < PROGRESS_MIN_DELTA - 1e-9 && at - writtenAt < PROGRESS_MIN_INTERVAL_MS) return;
      if (stage === stageWritten && p === progressWritten) return;
      try {
        store.reportProgress(jobId, stage, Math.round(p * 1000) / 1000);
        stageWritten = stage;
        progressWritten = p;
        writtenAt = at;
      } catch (error) {
        logger.warn({ jobId, err: error }, 'could not record job progress');
      }
    };
  }

  async function runJob(job: JobRecord): Promise<void> {
    const timeout = timeoutSignal(jobTimeoutMs);
    const stopping = shutdown.signal;
    const signal = AbortSignal.any([timeout, stopping]);
    let settled = false;
    const onProgress = progressWriter(job.id, () => settled);
    logger.info({ jobId: job.id, requestId: job.requestId, attempt: job.attempts }, 'job started');
    try {
      const work = processor({ jobId: job.id, url: job.url, language: job.language ?? undefined }, { signal, onProgress });
      work.catch(() => undefined); // a processor that ignores the signal may still reject later
      const result = await untilAborted(work, signal);
      settled = true;
      assertResult(result);
      store.complete(job.id, result);
      logger.info({ jobId: job.id, engine: result.engine, model: result.model }, 'job completed');
    } catch (error) {
      settled = true;
      recordFailure(job, error, timeout, stopping);
    }
  }

  function recordFailure(job: JobRecord, error: unknown, timeout: AbortSignal, stopping: AbortSignal): void {
    try {
      if (stopping.aborted && !timeout.aborted) {
        // Whatever the processor made of the abort, the job itself did nothing wrong: run it again after restart.
        store.requeue(job.id);
        logger.info({ jobId: job.id }, 'job interrupted by shutdown; requeued');
      } else if (error instanceof JobFailure) {
        store.fail(job.id, error.code, error.message);
        logger.info({ jobId: job.id, code: error.code, err: error.cause }, 'job failed');
      } else if (timeout.aborted) {
        store.fail(job.id, 'job_timed_out', `The job did not finish within ${Math.round(jobTimeoutMs / 1000)} seconds; send a shorter clip or retry later.`);
        logger.warn({ jobId: job.id, timeoutMs: jobTimeoutMs }, 'job timed out');
      } else {
        store.fail(job.id, 'transcription_failed', 'The transcription failed unexpectedly; retry with a new service token and report the job id if it persists.');
        logger.error({ jobId: job.id, err: error }, 'job failed with an unexpected error');
      }
    } catch (storeError) {
      logger.error({ jobId: job.id, err: storeError, cause: error }, 'could not record the job outcome');
    }
  }

  function claim(): JobRecord | undefined {
    try {
      return store.claimNext();
    } catch (error) {
      logger.error({ err: error }, 'could not claim a queued job');
      return undefined;
    }
  }

  function launch(job: JobRecord): Promise<void> {
    const promise = runJob(job).finally(() => {
      running.delete(job.id);
      if (started) pump();
    });
    running.set(job.id, promise);
    return promise;
  }

  function pump(): void {
    while (started && running.size < concurrency) {
      const job = claim();
      if (!job) return;
      void launch(job);
    }
  }

  async function runOnce(): Promise<number> {
    const batch: Promise<void>[] = [];
    while (batch.length + running.size < concurrency) {
      const job = claim();
      if (!job) break;
      batch.push(launch(job));
    }
    await Promise.all(batch);
    return batch.length;
  }

  function recoverInterrupted(): { requeued: string[]; failed: string[] } {
    const result = store.recoverInterrupted(maxAttempts);
    if (result.requeued.length + result.failed.length > 0) logger.warn(result, 'recovered jobs interrupted by a crash');
    return result;
  }

  return {
    start() {
      if (started) return;
      recoverInterrupted();
      if (shutdown.signal.aborted) shutdown = new AbortController();
      started = true;
      timer = setInterval(pump, options.pollIntervalMs ?? 1000);
      timer.unref();
      pump();
    },
    async stop({ graceMs = 10_000 } = {}) {
      started = false;
      clearInterval(timer);
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
      if (started) setImmediate(pump);
    },
    runOnce,
    async drain() {
      let total = 0;
      for (let n = await runOnce(); n > 0; n = await runOnce()) total += n;
      return total;
    },
    recoverInterrupted,
    get active() {
      return running.size;
    },
  };
}

/** Settles with the work, or rejects with the signal's reason as soon as it aborts (even if the work ignores it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function assertResult(result: JobResult): void {
  if (typeof result?.transcript !== 'string' || typeof result.engine !== 'string' || result.engine === '') {
    throw new TypeError('The job processor returned no transcript or engine name.');
  }
}
