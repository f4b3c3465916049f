import type { JobFailureCode } from '../../../generated/errors.js';

/** The stages a job reports while it runs; `queued` and the terminal states are owned by the job store. */
export type JobStage = 'fetching' | 'decoding' | 'transcribing';

/** What the worker hands a processor: the job's input and a way to report progress. */
export interface JobInput {
  readonly jobId: string;
  readonly url: string;
  readonly language: string | undefined;
}

export interface JobContext {
  /** Aborted when the job's time limit passes or the service shuts down. */
  readonly signal: AbortSignal;
  /** Report the current stage and a progress fraction in [0, 1] for that job as a whole. */
  onProgress(stage: JobStage, progress: number): void;
}

export interface JobResult {
  readonly transcript: string;
  /** Which engine and model produced the transcript, e.g. `{ engine: 'pocketsphinx', model: 'en-us' }`. */
  readonly engine: string;
  readonly model: string | null;
}

/**
 * A failure the user can act on: carries a job failure code from the catalog and a message that says what to do.
 *
 * @example
 * throw new JobFailure('media_too_large', 'The media is larger than 50 MB; send a shorter clip.');
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  constructor(
    readonly code: JobFailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Turns a job's URL into a transcript. The media pipeline implements it; tests may pass a double.
 * It must throw {@link JobFailure} for every failure it can name, and remove its temporary files in all cases.
 */
export type JobProcessor = (job: JobInput, ctx: JobContext) => Promise<JobResult>;
