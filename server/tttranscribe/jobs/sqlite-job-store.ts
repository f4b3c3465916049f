import type { JobDatabase } from './database.js';
import {
  abandonedJobMessage,
  conflictOutcome,
  toJobRecord,
  type JobRecord,
  type JobStore,
  type LeaseRecovery,
} from './job-store.js';
import { translateSqliteError } from './translate-sqlite-error.js';

type Row = Record<string, unknown>;

/**
 * The job queue on SQLite (the embedded default). Statements are prepared once; a multi-row change runs in one
 * IMMEDIATE transaction. Errors are translated into catalog errors at this boundary (keeping `cause`).
 *
 * @example
 * const store = createSqliteJobStore(openJobDatabase(':memory:'));
 * const r = await store.insert({ id: newJobId(), tokenJti: 'jti-1', subject: 'user-1', url, language: null, requestId: null, idempotencyKey: null });
 * if (r.outcome === 'token_used') console.log('token already used for', r.existingJobId);
 */
export function createSqliteJobStore(db: JobDatabase, options: { now?: () => number } = {}): JobStore {
  const now = options.now ?? Date.now;
  const held = `id = @id AND status = 'processing' AND lease_owner = @owner`;
  const s = {
    insert:
      db.prepare(`INSERT INTO jobs (id, token_jti, subject, url, language, status, stage, progress, request_id, idempotency_key,
        submitted_at, updated_at)
      VALUES (@id, @tokenJti, @subject, @url, @language, 'queued', 'queued', 0, @requestId, @idempotencyKey, @now, @now)
      ON CONFLICT DO NOTHING RETURNING *`),
    byJti: db.prepare('SELECT id FROM jobs WHERE token_jti = ?').pluck(),
    byKey: db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?'),
    get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    claim: db.prepare(`UPDATE jobs SET status = 'processing', stage = 'fetching', progress = 0, attempts = attempts + 1,
        started_at = @now, updated_at = @now, lease_owner = @owner, lease_expires_at = @expires
      WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY submitted_at, rowid LIMIT 1) RETURNING *`),
    renew: db.prepare(`UPDATE jobs SET lease_expires_at = @expires WHERE ${held}`),
    progress: db.prepare(
      `UPDATE jobs SET stage = @stage, progress = MAX(progress, @progress), updated_at = @now WHERE ${held}`,
    ),
    complete: db.prepare(`UPDATE jobs SET status = 'completed', stage = 'done', progress = 1, transcript = @transcript,
        engine = @engine, model = @model, completed_at = @now, updated_at = @now, lease_owner = NULL, lease_expires_at = NULL
      WHERE ${held}`),
    fail: db.prepare(`UPDATE jobs SET status = 'failed', error_code = @code, error_message = @message, completed_at = @now,
        updated_at = @now, lease_owner = NULL, lease_expires_at = NULL WHERE ${held}`),
    release:
      db.prepare(`UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, started_at = NULL, updated_at = @now,
        lease_owner = NULL, lease_expires_at = NULL WHERE ${held}`),
    expired: db.prepare(
      `SELECT id, attempts FROM jobs WHERE status = 'processing' AND COALESCE(lease_expires_at, 0) <= ?`,
    ),
    failExpired:
      db.prepare(`UPDATE jobs SET status = 'failed', error_code = 'transcription_failed', error_message = @message,
        completed_at = @now, updated_at = @now, lease_owner = NULL, lease_expires_at = NULL WHERE id = @id`),
    requeueExpired:
      db.prepare(`UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, started_at = NULL, updated_at = @now,
        lease_owner = NULL, lease_expires_at = NULL WHERE id = @id`),
    counts:
      db.prepare(`SELECT COALESCE(SUM(status = 'queued'), 0) AS queued, COALESCE(SUM(status = 'processing'), 0) AS processing
      FROM jobs WHERE status IN ('queued', 'processing')`),
    byState: db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status'),
  };
  const record = (row: unknown): JobRecord | undefined => (row ? toJobRecord(row as Row) : undefined);

  const insertTx = db.transaction((job: Parameters<JobStore['insert']>[0]) => {
    const row = s.insert.get({ ...job, now: now() }) as Row | undefined;
    if (row) return { outcome: 'created', job: toJobRecord(row) } as const;
    const keyed = job.idempotencyKey === null ? undefined : record(s.byKey.get(job.idempotencyKey));
    return conflictOutcome(job, keyed, s.byJti.get(job.tokenJti) as string | undefined);
  });
  const recoverTx = db.transaction((maxAttempts: number): LeaseRecovery => {
    const requeued: string[] = [];
    const failed: string[] = [];
    const at = now();
    for (const row of s.expired.all(at) as Array<{ id: string; attempts: number }>) {
      if (row.attempts >= maxAttempts) {
        s.failExpired.run({ id: row.id, now: at, message: abandonedJobMessage(row.attempts) });
        failed.push(row.id);
      } else {
        s.requeueExpired.run({ id: row.id, now: at });
        requeued.push(row.id);
      }
    }
    return { requeued, failed };
  });

  /** Runs a statement, translating SQLite errors into catalog errors naming `action`. */
  const run = async <T>(action: string, work: () => T): Promise<T> => {
    try {
      return work();
    } catch (error) {
      throw translateSqliteError(error, action);
    }
  };

  return {
    insert: (job) => run('store the job', () => insertTx.immediate(job)),
    get: (id) => run('read the job', () => record(s.get.get(id))),
    getByIdempotencyKey: (key) => run('read the job', () => record(s.byKey.get(key))),
    claimNext: (lease) =>
      run('claim a job', () => record(s.claim.get({ now: now(), owner: lease.owner, expires: now() + lease.ms }))),
    renewLease: (id, lease) =>
      run('renew a lease', () => s.renew.run({ id, owner: lease.owner, expires: now() + lease.ms }).changes === 1),
    reportProgress: (id, owner, stage, progress) =>
      run('record progress', () => void s.progress.run({ id, owner, stage, progress, now: now() })),
    complete: (id, owner, result) =>
      run(
        'complete the job',
        () =>
          s.complete.run({
            id,
            owner,
            transcript: result.transcript,
            engine: result.engine,
            model: result.model,
            now: now(),
          }).changes === 1,
      ),
    fail: (id, owner, code, message) =>
      run('fail the job', () => s.fail.run({ id, owner, code, message, now: now() }).changes === 1),
    release: (id, owner) => run('requeue the job', () => s.release.run({ id, owner, now: now() }).changes === 1),
    recoverExpiredLeases: (maxAttempts) => run('recover jobs', () => recoverTx.immediate(maxAttempts)),
    counts: () => run('count the jobs', () => s.counts.get() as { queued: number; processing: number }),
    countByState: () =>
      run('count the jobs', () =>
        Object.fromEntries((s.byState.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n])),
      ),
  };
}
