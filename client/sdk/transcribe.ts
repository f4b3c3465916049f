import { jobFailureCatalog } from '../../generated/errors.js';
import { localError, type PluctError } from './errors.js';
import type {
  CallOptions,
  PluctResult,
  TranscribeAccepted,
  TranscribeRequest,
  TranscriptionStatus,
  VendTokenResponse,
} from './results.js';

/** The calls the flow makes; a PluctClient has them. */
export interface TranscriptionCalls {
  /** `POST /v1/vend-token` (1 credit). `clientRequestId` is the idempotency key (default: a fresh UUID). */
  vendToken(input?: { clientRequestId?: string }, options?: CallOptions): Promise<PluctResult<VendTokenResponse>>;
  /**
   * `POST /ttt/transcribe` with a service token. Never retried with another token: an expired token resolves
   * with `service_token_expired`, a revoked one with the engine's `service_token_revoked`.
   */
  submit(
    serviceToken: string,
    request: TranscribeRequest,
    options?: CallOptions,
  ): Promise<PluctResult<TranscribeAccepted>>;
  /** `GET /ttt/status/{jobId}` with the user JWT, or with the service token that created the job. */
  status(jobId: string, options?: CallOptions & { serviceToken?: string }): Promise<PluctResult<TranscriptionStatus>>;
}

/** What `onProgress` receives: the phase, the job's stage once it exists, and overall progress in [0, 1]. */
export interface TranscribeProgress {
  readonly phase: 'vending' | 'submitting' | 'queued' | 'processing' | 'completed';
  readonly progress: number;
  readonly jobId?: string;
  readonly stage?: TranscriptionStatus['stage'];
  /** Credits left after vending (from the vend answer). */
  readonly balanceAfter?: number;
}

/** How `transcribe` polls: exponential backoff between `initialDelayMs` and `maxDelayMs`, bounded by `timeoutMs`. */
export interface PollOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Total polling budget (default 10 minutes); then `poll_timeout` with the job id. */
  timeoutMs?: number;
  /** Transient failures (network, 5xx, 429) tolerated in a row while polling (default 3). */
  maxConsecutiveErrors?: number;
}

export interface TranscribeOptions {
  language?: string;
  onProgress?: (progress: TranscribeProgress) => void;
  signal?: AbortSignal;
  poll?: PollOptions;
  /** Idempotency key of the vend (default: a fresh UUID). */
  clientRequestId?: string;
  now?: (() => number) | undefined;
}

/** The result of a completed transcription. */
export interface TranscribeOutcome {
  readonly jobId: string;
  readonly transcript: string;
  readonly tokenId: string;
  readonly balanceAfter: number;
  /** The final job status as the engine reported it. */
  readonly status: TranscriptionStatus;
}

const TRANSIENT = new Set<string>([
  'network_error',
  'rate_limited',
  'internal_error',
  'service_unavailable',
  'upstream_error',
  'upstream_unavailable',
  'upstream_timeout',
]);

/** How long to wait before submitting the same token again after a pending submission. */
const PENDING_RESUBMIT_DELAY_MS = 1_000;

/**
 * Whether the engine answered that the submission's fate is not known yet (`details.submissionPending`: no
 * refund, the token still in use): submitting the same token again finds the job or submits it now.
 */
function isPendingSubmission(error: PluctError | undefined): boolean {
  return error !== undefined && 'details' in error && error.details['submissionPending'] === true;
}

function failed<T>(error: PluctError, response: Response | undefined, requestId: string): PluctResult<T> {
  return { error, response, requestId };
}

/**
 * Vend -> submit -> poll. The service token is submitted at once and never re-vended on failure; polling uses
 * the user JWT (refreshed as needed), so a job may outlive the 15-minute service token.
 *
 * @example
 * const result = await runTranscription(client, 'https://media.example.com/clip.mp4', { poll: { timeoutMs: 60_000 } });
 */
export async function runTranscription(
  client: TranscriptionCalls,
  url: string,
  options: TranscribeOptions = {},
): Promise<PluctResult<TranscribeOutcome>> {
  const { signal, onProgress } = options;
  const now = options.now ?? (() => Date.now());
  const call: CallOptions = signal ? { signal } : {};

  onProgress?.({ phase: 'vending', progress: 0 });
  const vend = await client.vendToken(
    options.clientRequestId ? { clientRequestId: options.clientRequestId } : {},
    call,
  );
  if (vend.error) return failed(vend.error, vend.response, vend.requestId);
  const { token, tokenId, balanceAfter } = vend.data;

  onProgress?.({ phase: 'submitting', progress: 0, balanceAfter });
  const request = { url, ...(options.language ? { language: options.language } : {}) };
  let submit = await client.submit(token, request, call);
  let jobId: string | undefined = submit.data?.jobId;
  const pending = isPendingSubmission(submit.error);
  if (submit.error?.code === 'network_error' || pending) {
    // The submission may have arrived (a lost answer, or the engine says it is pending: TTTranscribe may hold the
    // job): the same token either submits now or finds the job it already submitted, never a second credit. A
    // pending one gets a moment first, for the request the engine gave up on to land.
    if (pending && (await sleep(PENDING_RESUBMIT_DELAY_MS, signal)) !== undefined)
      return failed(submit.error as PluctError, submit.response, submit.requestId);
    submit = await client.submit(token, request, call);
    jobId = submit.data?.jobId;
    if (submit.error?.code === 'service_token_already_used' && typeof submit.error.details['jobId'] === 'string') {
      jobId = submit.error.details['jobId'];
    }
  }
  if (jobId === undefined) return failed(submit.error as PluctError, submit.response, submit.requestId);

  return poll(client, { jobId, requestId: submit.requestId }, { tokenId, balanceAfter }, { ...options, now }, call);
}

async function poll(
  client: TranscriptionCalls,
  submitted: { jobId: string; requestId: string },
  vended: { tokenId: string; balanceAfter: number },
  options: TranscribeOptions & { now: () => number },
  call: CallOptions,
): Promise<PluctResult<TranscribeOutcome>> {
  const {
    initialDelayMs = 500,
    maxDelayMs = 5_000,
    factor = 1.6,
    timeoutMs = 600_000,
    maxConsecutiveErrors = 3,
  } = options.poll ?? {};
  const { now, onProgress, signal } = options;
  const { jobId } = submitted;
  const started = now();
  const deadline = started + timeoutMs;
  let backoff = initialDelayMs;
  let wait = initialDelayMs;
  let errorsInARow = 0;
  let lastStatus = 'queued';
  let lastRequestId = submitted.requestId;
  onProgress?.({ phase: 'queued', progress: 0, jobId, stage: 'queued' });

  for (;;) {
    const abortReason = await sleep(Math.min(wait, Math.max(0, deadline - now())), signal);
    if (abortReason !== undefined) {
      return failed(
        localError(
          'aborted',
          lastRequestId,
          'transcribe() was aborted while polling.',
          `Nothing to fix; job ${jobId} keeps running: poll it with status('${jobId}').`,
          { reason: abortReason },
        ),
        undefined,
        lastRequestId,
      );
    }
    const result = await client.status(jobId, call);
    lastRequestId = result.requestId;
    backoff = Math.min(maxDelayMs, backoff * factor);
    wait = backoff;
    if (result.error) {
      errorsInARow += 1;
      if (!TRANSIENT.has(result.error.code) || errorsInARow > maxConsecutiveErrors)
        return failed(result.error, result.response, result.requestId);
      const retryAfterSec = 'details' in result.error ? Number(result.error.details['retryAfterSec']) : NaN;
      if (Number.isFinite(retryAfterSec)) wait = Math.max(wait, retryAfterSec * 1000);
    } else {
      errorsInARow = 0;
      const status = result.data;
      lastStatus = status.status;
      if (status.status === 'completed') {
        onProgress?.({ phase: 'completed', progress: 1, jobId, stage: status.stage });
        return {
          data: { jobId, transcript: status.transcript ?? '', status, ...vended },
          response: result.response,
          requestId: result.requestId,
        };
      }
      if (status.status === 'failed')
        return failed(jobFailed(jobId, status, result.requestId), result.response, result.requestId);
      onProgress?.({ phase: status.status, progress: status.progress, jobId, stage: status.stage });
    }
    if (now() >= deadline) {
      return failed(
        localError(
          'poll_timeout',
          result.requestId,
          `Job ${jobId} did not finish within ${Math.round(timeoutMs / 1000)} s of polling.`,
          `The job may still complete: poll it later with status('${jobId}'). Its credit is already spent on it.`,
          { jobId, waitedMs: now() - started, lastStatus },
        ),
        result.response,
        result.requestId,
      );
    }
  }
}

function jobFailed(jobId: string, status: TranscriptionStatus, requestId: string): PluctError {
  const code = status.error?.code ?? 'transcription_failed';
  const meta = jobFailureCatalog[code];
  const retryable = status.error?.retryable ?? meta.retryable;
  const refund = status.creditRefunded ? ' Its credit was refunded.' : '';
  const retry = retryable ? ' Retrying needs a new service token (1 credit).' : '';
  return localError(
    'job_failed',
    requestId,
    status.error?.message ?? meta.exampleMessage,
    `${meta.title}.${refund}${retry}`,
    {
      jobId,
      jobFailure: code,
      responsibility: status.error?.responsibility ?? meta.responsibility,
      creditRefunded: status.creditRefunded,
      retryable,
    },
  );
}

/** Resolves after `ms`, or early with the abort reason when `signal` fires. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<unknown> {
  if (signal?.aborted) return Promise.resolve(signal.reason ?? new Error('aborted'));
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(undefined);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
