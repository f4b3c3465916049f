import type { JobFailureCode } from '../../../generated/errors.js';
import type { components } from '../../../generated/tttranscribe/schema.js';
import type { JobResult, JobStage } from './job-processor.js';

export type JobState = components['schemas']['JobStatus']['status'];
export type JobStageValue = components['schemas']['JobStatus']['stage'];

/** A job as stored; times are unix milliseconds. */
export interface JobRecord {
  readonly id: string;
  readonly tokenJti: string;
  readonly subject: string;
  readonly url: string;
  readonly language: string | null;
  readonly status: JobState;
  readonly stage: JobStageValue;
  readonly progress: number;
  readonly errorCode: JobFailureCode | null;
  readonly errorMessage: string | null;
  readonly transcript: string | null;
  readonly engine: string | null;
  readonly model: string | null;
  readonly requestId: string | null;
  /** The submitter's Idempotency-Key, when it sent one. */
  readonly idempotencyKey: string | null;
  /** How many times a worker claimed it. */
  readonly attempts: number;
  /** The worker holding the job while it is processing, and until when (renewed while it works). */
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: number | null;
  readonly submittedAt: number;
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  readonly updatedAt: number;
}

export interface NewJob {
  readonly id: string;
  readonly tokenJti: string;
  readonly subject: string;
  readonly url: string;
  readonly language: string | null;
  readonly requestId: string | null;
  /** The caller's Idempotency-Key (unique across jobs), or null. */
  readonly idempotencyKey: string | null;
}

/**
 * The outcome of an insert: `created`; `replayed` (the same Idempotency-Key and token already created `job`);
 * `token_used` (the token already created another job); `key_reused` (the key belongs to another token's job).
 */
export type InsertJobResult =
  | { readonly outcome: 'created'; readonly job: JobRecord }
  | { readonly outcome: 'replayed'; readonly job: JobRecord }
  | { readonly outcome: 'token_used'; readonly existingJobId: string }
  | { readonly outcome: 'key_reused'; readonly existingJobId: string };

/** Who holds a claimed job and for how long a claim or renewal lasts. */
export interface Lease {
  readonly owner: string;
  readonly ms: number;
}

/** What a sweep of expired leases did: jobs put back in the queue, and jobs failed after `maxAttempts` claims. */
export interface LeaseRecovery {
  readonly requeued: string[];
  readonly failed: string[];
}

/** The message of a job failed because its workers kept dying, around the number of attempts. */
export const ABANDONED_JOB_MESSAGE = [
  'The job was interrupted ',
  ' times while processing (its worker stopped); retry with a new service token and report the job id if it persists.',
] as const;
/** {@link ABANDONED_JOB_MESSAGE} for a number of attempts. */
export const abandonedJobMessage = (attempts: number): string =>
  `${ABANDONED_JOB_MESSAGE[0]}${attempts}${ABANDONED_JOB_MESSAGE[1]}`;

/**
 * TTTranscribe's durable job queue, one contract for both backends (SQLite: sqlite-job-store.ts, PostgreSQL:
 * pg-job-store.ts; the same suite runs against both). Every change a worker makes to a claimed job is conditional
 * on still holding its lease, so a worker whose lease expired (it stalled or died and another took the job) can
 * never complete, fail or requeue it. Errors a request handler sees are catalog errors (a lost database is a
 * retryable 503 `service_unavailable`).
 *
 * @example
 * const r = await store.insert({ id: newJobId(), tokenJti, subject, url, language: null, requestId, idempotencyKey: null });
 * const job = await store.claimNext({ owner: 'worker-1', ms: 30_000 });
 * if (job && !(await store.complete(job.id, 'worker-1', result))) console.log('lease lost: another worker has it');
 */
export interface JobStore {
  /** Stores a queued job unless a job with the same token `jti` or Idempotency-Key exists (both UNIQUE). */
  insert(job: NewJob): Promise<InsertJobResult>;
  get(id: string): Promise<JobRecord | undefined>;
  /** The job stored under an Idempotency-Key. */
  getByIdempotencyKey(key: string): Promise<JobRecord | undefined>;
  /** Atomically moves the oldest queued job to processing (stage fetching) under a new lease, and returns it. */
  claimNext(lease: Lease): Promise<JobRecord | undefined>;
  /** Extends the lease; false when the owner no longer holds it (it expired and was recovered, or the job ended). */
  renewLease(id: string, lease: Lease): Promise<boolean>;
  /** Records stage and progress while the owner holds the job. */
  reportProgress(id: string, owner: string, stage: JobStage, progress: number): Promise<void>;
  /** Completes the job if the owner still holds it; false otherwise (nothing written). */
  complete(id: string, owner: string, result: JobResult): Promise<boolean>;
  /** Fails the job if the owner still holds it; false otherwise. */
  fail(id: string, owner: string, code: JobFailureCode, message: string): Promise<boolean>;
  /** Puts a job the owner holds back in the queue (shutdown before it finished); false if it no longer holds it. */
  release(id: string, owner: string): Promise<boolean>;
  /**
   * Processing jobs whose lease expired (their worker died or stalled): requeued, or failed with
   * `transcription_failed` once they were claimed `maxAttempts` times. Each job is recovered by one caller only.
   */
  recoverExpiredLeases(maxAttempts: number): Promise<LeaseRecovery>;
  counts(): Promise<{ queued: number; processing: number }>;
  /** Jobs per state, for the `jobs_by_state` gauge. */
  countByState(): Promise<Record<string, number>>;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v as string | null | undefined) ?? null;

/**
 * A row of `jobs` (either backend: PostgreSQL BIGINTs arrive as strings) as a JobRecord.
 *
 * @example
 * const job = toJobRecord(result.rows[0]);
 */
export const toJobRecord = (r: Row): JobRecord => ({
  id: r['id'] as string,
  tokenJti: r['token_jti'] as string,
  subject: r['subject'] as string,
  url: r['url'] as string,
  language: strOrNull(r['language']),
  status: r['status'] as JobState,
  stage: r['stage'] as JobStageValue,
  progress: num(r['progress']),
  errorCode: strOrNull(r['error_code']) as JobFailureCode | null,
  errorMessage: strOrNull(r['error_message']),
  transcript: strOrNull(r['transcript']),
  engine: strOrNull(r['engine']),
  model: strOrNull(r['model']),
  requestId: strOrNull(r['request_id']),
  idempotencyKey: strOrNull(r['idempotency_key']),
  attempts: num(r['attempts']),
  leaseOwner: strOrNull(r['lease_owner']),
  leaseExpiresAt: numOrNull(r['lease_expires_at']),
  submittedAt: num(r['submitted_at']),
  startedAt: numOrNull(r['started_at']),
  completedAt: numOrNull(r['completed_at']),
  updatedAt: num(r['updated_at']),
});

/**
 * Why an insert hit a UNIQUE constraint: the Idempotency-Key decides first (the same token replays its job, another
 * token's is `key_reused`), then the token's single use.
 *
 * @example
 * return conflictOutcome(job, await findByKey(job.idempotencyKey), await findIdByJti(job.tokenJti));
 */
export function conflictOutcome(
  job: NewJob,
  keyed: JobRecord | undefined,
  jobIdOfToken: string | undefined,
): InsertJobResult {
  if (keyed)
    return keyed.tokenJti === job.tokenJti
      ? { outcome: 'replayed', job: keyed }
      : { outcome: 'key_reused', existingJobId: keyed.id };
  if (jobIdOfToken === undefined) throw new Error('the job insert conflicted, yet no job holds its token or key');
  return { outcome: 'token_used', existingJobId: jobIdOfToken };
}
