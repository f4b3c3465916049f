import { isJobFailureCode, jobFailureCatalog, type JobFailureCode } from '../../generated/errors.js';
import { abortReason } from '../tttranscribe/abort-reason.js';
import { JobFailure, type JobProcessor } from '../tttranscribe/jobs/job-processor.js';
import type { TranscriberProbe } from '../tttranscribe/transcriber-status.js';
import { parseSandboxMedia, SANDBOX_MEDIA_HOST } from './magic-inputs.js';

export const SIMULATED_ENGINE = 'sandbox-simulated';
export const SIMULATED_MODEL = 'deterministic-v1';

/** A job the simulated engine has seen, for GET /sandbox/state. */
export interface SeenJob {
  readonly jobId: string;
  readonly url: string;
}

export interface SimulatedEngineOptions {
  /** How long a job runs when its URL does not say (`/delay/<ms>`). */
  readonly jobDurationMs: number;
  /** Told about every job it starts. */
  readonly onJob?: (job: SeenJob) => void;
}

const STEPS = 5;

/** What a failed sandbox job says: the catalog's meaning of the code, marked as simulated. */
function failureMessage(code: JobFailureCode): string {
  const known = code === 'media_fetch_failed' ? 'The media host answered 404 Not Found; check the link. ' : '';
  return `${known}Sandbox: simulated ${code} (${jobFailureCatalog[code].title}).`;
}

/**
 * The sandbox's transcription engine, in place of TTTranscribe's media pipeline: it never fetches or decodes
 * anything. A job on the sandbox media host runs for its duration, reporting `transcribing` progress in five steps,
 * then completes with the transcript its URL names or fails with the job failure code its URL names
 * (magic-inputs.ts). Any other URL fails with `media_fetch_failed` (the sandbox has no network).
 *
 * @example
 * const processor = createSimulatedProcessor({ jobDurationMs: 1500 });
 * createApp(tttConfig, { db, processor, serviceTokenKeys, logger });
 */
export function createSimulatedProcessor(options: SimulatedEngineOptions): JobProcessor {
  return async (job, ctx) => {
    options.onJob?.({ jobId: job.jobId, url: job.url });
    const url = new URL(job.url);
    if (url.hostname !== SANDBOX_MEDIA_HOST) {
      throw new JobFailure(
        'media_fetch_failed',
        `The sandbox never fetches media; use a URL on https://${SANDBOX_MEDIA_HOST}/.`,
      );
    }
    const media = parseSandboxMedia(url, isJobFailureCode);
    const duration = media.durationMs ?? options.jobDurationMs;
    for (let step = 0; step < STEPS; step += 1) {
      ctx.onProgress('transcribing', step / STEPS);
      await sleep(duration / STEPS, ctx.signal);
    }
    if (media.failure !== undefined) throw new JobFailure(media.failure, failureMessage(media.failure));
    ctx.onProgress('transcribing', 1);
    return { transcript: media.transcript, engine: SIMULATED_ENGINE, model: SIMULATED_MODEL };
  };
}

/**
 * GET /health's transcriber report for the simulated engine: always available.
 *
 * @example
 * createApp(tttConfig, { db, processor, serviceTokenKeys, logger, transcriber: simulatedProbe });
 */
export const simulatedProbe: TranscriberProbe = () =>
  Promise.resolve({ engine: SIMULATED_ENGINE, model: SIMULATED_MODEL, available: true, reason: null });

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
