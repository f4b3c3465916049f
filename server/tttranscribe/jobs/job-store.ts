import type { JobFailureCode } from '../../../generated/errors.js';
import type { components } from '../../../generated/tttranscribe/schema.js';
import type { JobDatabase } from './database.js';
import type { JobResult, JobStage } from './job-processor.js';
import { translateSqliteError } from './translate-sqlite-error.js';

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
  readonly attempts: number;
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

export interface JobStore {
  /** Stores a queued job unless a job with the same token `jti` or Idempotency-Key exists (both UNIQUE). */
  insert(job: NewJob): InsertJobResult;
  get(id: string): JobRecord | undefined;
  /** The job stored under an Idempotency-Key. */
  getByIdempotencyKey(key: string): JobRecord | undefined;
  /** Atomically moves the oldest queued job to processing (stage fetching) and returns it. */
  claimNext(): JobRecord | undefined;
  /** Records stage and progress of a job that is still processing. */
  reportProgress(id: string, stage: JobStage, progress: number): void;
  complete(id: string, result: JobResult): void;
  fail(id: string, code: JobFailureCode, message: string): void;
  /** Puts a processing job back in the queue (shutdown before it finished). */
  requeue(id: string): void;
  /** Jobs left processing by a crash: requeued, or failed once they were interrupted `maxAttempts` times. */
  recoverInterrupted(maxAttempts: number): { requeued: string[]; failed: string[] };
  counts(): { queued: number; processing: number };
}

type Row = Record<string, unknown>;

const toRecord = (r: Row): JobRecord => ({
  id: r['id'] as string,
  tokenJti: r['token_jti'] as string,
  subject: r['subject'] as string,
  url: r['url'] as string,
  language: (r['language'] as string | null) ?? null,
  status: r['status'] as JobState,
  stage: r['stage'] as JobStageValue,
  progress: r['progress'] as number,
  errorCode: (r['error_code'] as JobFailureCode | null) ?? null,
  errorMessage: (r['error_message'] as string | null) ?? null,
  transcript: (r['transcript'] as string | null) ?? null,
  engine: (r['engine'] as string | null) ?? null,
  model: (r['model'] as string | null) ?? null,
  requestId: (r['request_id'] as string | null) ?? null,
  idempotencyKey: (r['idempotency_key'] as string | null) ?? null,
  attempts: r['attempts'] as number,
  submittedAt: r['submitted_at'] as number,
  startedAt: (r['started_at'] as number | null) ?? null,
  completedAt: (r['completed_at'] as number | null) ?? null,
  updatedAt: r['updated_at'] as number,
});

/**
 * The durable job queue on SQLite. Statements are prepared once; a multi-row change runs in one transaction.
 * Methods used by request handlers translate SQLite errors into catalog errors (keeping `cause`).
 *
 * @example
 * const store = createJobStore(openJobDatabase(':memory:'));
 * const r = store.insert({ id: newJobId(), tokenJti: 'jti-1', subject: 'user-1', url, language: null, requestId: null });
 * if (!r.ok) console.log('token already used for', r.existingJobId);
 */
export function createJobStore(db: JobDatabase, options: { now?: () => number } = {}): JobStore {
  const now = options.now ?? Date.now;
  const s = {
    insert: db.prepare(`INSERT INTO jobs (id, token_jti, subject, url, language, status, stage, progress, request_id, idempotency_key,
        submitted_at, updated_at)
      VALUES (@id, @tokenJti, @subject, @url, @language, 'queued', 'queued', 0, @requestId, @idempotencyKey, @now, @now)
      ON CONFLICT DO NOTHING RETURNING *`),
    byJti: db.prepare('SELECT id FROM jobs WHERE token_jti = ?').pluck(),
    byKey: db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?'),
    get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    claim: db.prepare(`UPDATE jobs SET status = 'processing', stage = 'fetching', progress = 0, attempts = attempts + 1,
        started_at = @now, updated_at = @now
      WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY submitted_at, rowid LIMIT 1) RETURNING *`),
    progress: db.prepare(`UPDATE jobs SET stage = @stage, progress = MAX(progress, @progress), updated_at = @now
      WHERE id = @id AND status = 'processing'`),
    complete: db.prepare(`UPDATE jobs SET status = 'completed', stage = 'done', progress = 1, transcript = @transcript,
        engine = @engine, model = @model, completed_at = @now, updated_at = @now WHERE id = @id AND status = 'processing'`),
    fail: db.prepare(`UPDATE jobs SET status = 'failed', error_code = @code, error_message = @message, completed_at = @now,
        updated_at = @now WHERE id = @id AND status IN ('queued', 'processing')`),
    requeue: db.prepare(`UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, started_at = NULL, updated_at = @now
      WHERE id = @id AND status = 'processing'`),
    interrupted: db.prepare(`SELECT id, attempts FROM jobs WHERE status = 'processing'`),
    counts: db.prepare(`SELECT COALESCE(SUM(status = 'queued'), 0) AS queued, COALESCE(SUM(status = 'processing'), 0) AS processing
      FROM jobs WHERE status IN ('queued', 'processing')`),
  };

  const insertTx = db.transaction((job: NewJob): InsertJobResult => {
    const row = s.insert.get({ ...job, now: now() }) as Row | undefined;
    if (row) return { outcome: 'created', job: toRecord(row) };
    return conflictOutcome(job, (key) => s.byKey.get(key) as Row | undefined, (jti) => s.byJti.get(jti) as string | undefined);
  });
  const recoverTx = db.transaction((maxAttempts: number) => {
    const requeued: string[] = [];
    const failed: string[] = [];
    const at = now();
    for (const row of s.interrupted.all() as Array<{ id: string; attempts: number }>) {
      if (row.attempts >= maxAttempts) {
        s.fail.run({ id: row.id, now: at, code: 'transcription_failed',
          message: `The job was interrupted ${row.attempts} times while processing; retry with a new service token and report the job id if it persists.` });
        failed.push(row.id);
      } else {
        s.requeue.run({ id: row.id, now: at });
        requeued.push(row.id);
      }
    }
    return { requeued, failed };
  });

  return {
    insert(job) {
      try {
        return insertTx.immediate(job);
      } catch (error) {
        throw translateSqliteError(error, 'store the job');
      }
    },
    get(id) {
      try {
        const row = s.get.get(id) as Row | undefined;
        return row && toRecord(row);
      } catch (error) {
        throw translateSqliteError(error, 'read the job');
      }
    },
    getByIdempotencyKey(key) {
      try {
        const row = s.byKey.get(key) as Row | undefined;
        return row && toRecord(row);
      } catch (error) {
        throw translateSqliteError(error, 'read the job');
      }
    },
    claimNext() {
      const row = s.claim.get({ now: now() }) as Row | undefined;
      return row && toRecord(row);
    },
    reportProgress(id, stage, progress) {
      s.progress.run({ id, stage, progress, now: now() });
    },
    complete(id, result) {
      s.complete.run({ id, transcript: result.transcript, engine: result.engine, model: result.model, now: now() });
    },
    fail(id, code, message) {
      s.fail.run({ id, code, message, now: now() });
    },
    requeue(id) {
      s.requeue.run({ id, now: now() });
    },
    recoverInterrupted(maxAttempts) {
      return recoverTx.immediate(maxAttempts);
    },
    counts() {
      try {
        return s.counts.get() as { queued: number; processing: number };
      } catch (error) {
        throw translateSqliteError(error, 'count the jobs');
      }
    },
  };
}

/**
 * Why an insert hit a UNIQUE constraint: the Idempotency-Key decides first (the same token replays its job, another
 * token's is `key_reused`), then the token's single use.
 */
function conflictOutcome(job: NewJob, byKey: (key: string) => Row | undefined, byJti: (jti: string) => string | undefined): InsertJobResult {
  const keyed = job.idempotencyKey === null ? undefined : byKey(job.idempotencyKey);
  if (keyed) {
    const record = toRecord(keyed);
    return record.tokenJti === job.tokenJti ? { outcome: 'replayed', job: record } : { outcome: 'key_reused', existingJobId: record.id };
  }
  const existingJobId = byJti(job.tokenJti);
  if (existingJobId === undefined) throw new Error('the job insert conflicted, yet no job holds its token or key');
  return { outcome: 'token_used', existingJobId };
}
