import type { JobFailureCode } from '../../generated/errors.js';
import {
  JobFailure,
  type JobContext,
  type JobInput,
  type JobProcessor,
  type JobResult,
} from '../../server/tttranscribe/jobs/job-processor.js';
import type { TranscriberProbe } from '../../server/tttranscribe/transcriber-status.js';

/** TEST-DOUBLE transcription result. */
export const FAKE_RESULT: JobResult = {
  transcript: 'and so the story begins',
  engine: 'test-double',
  model: 'fixture',
};

/** A probe for GET /health that reports the test double as available. */
export const fakeTranscriber: TranscriberProbe = () =>
  Promise.resolve({ engine: 'test-double', model: 'fixture', available: true, reason: null });

/**
 * A processor that reports each stage once and returns {@link FAKE_RESULT}.
 *
 * @example
 * startTttTestApp({ processor: succeedingProcessor() });
 */
export function succeedingProcessor(result: JobResult = FAKE_RESULT): JobProcessor {
  return async (_job, ctx) => {
    ctx.onProgress('fetching', 0.1);
    ctx.onProgress('decoding', 0.35);
    ctx.onProgress('transcribing', 0.7);
    return result;
  };
}

/**
 * A processor that fails every job with a job failure code, after reporting a stage.
 *
 * @example
 * failingProcessor('media_fetch_failed', 'The media host answered 404 Not Found; check the link.');
 */
export function failingProcessor(code: JobFailureCode, message: string): JobProcessor {
  return async (_job, ctx) => {
    ctx.onProgress('fetching', 0.1);
    throw new JobFailure(code, message);
  };
}

/** A processor that throws a plain (non-JobFailure) error. */
export function crashingProcessor(error: unknown = new Error('segfault in the speech engine')): JobProcessor {
  return async () => {
    throw error;
  };
}

/**
 * A processor that waits until the job's signal aborts, then rejects with its reason (as the real pipeline does).
 * The worker aborts with an Error (LeaseLost, WorkerShutdown, a TimeoutError DOMException); the reason is typed any.
 */
export function abortAwareProcessor(): JobProcessor {
  return (_job, ctx) =>
    new Promise<JobResult>((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
    });
}

/** A job held by a {@link gatedProcessor} until the test releases it. */
export interface GatedJob {
  readonly job: JobInput;
  readonly ctx: JobContext;
  resolve(result?: JobResult): void;
  reject(error: unknown): void;
}

/**
 * A processor whose jobs wait until the test settles them, to observe concurrency and progress deterministically.
 *
 * @example
 * const gate = gatedProcessor();
 * // ... submit, worker.start() ...
 * gate.pending[0]!.ctx.onProgress('transcribing', 0.5);
 * gate.pending[0]!.resolve();
 */
export function gatedProcessor(): { processor: JobProcessor; pending: GatedJob[]; started: string[] } {
  const pending: GatedJob[] = [];
  const started: string[] = [];
  const processor: JobProcessor = (job, ctx) =>
    new Promise<JobResult>((resolve, reject) => {
      started.push(job.jobId);
      pending.push({ job, ctx, resolve: (result = FAKE_RESULT) => resolve(result), reject });
    });
  return { processor, pending, started };
}
