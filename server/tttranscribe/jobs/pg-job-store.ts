import type pg from 'pg';
import { ABANDONED_JOB_MESSAGE, conflictOutcome, toJobRecord, type JobRecord, type JobStore } from './job-store.js';
import { translatePgError } from './translate-pg-error.js';

type Row = Record<string, unknown>;
const HELD = `id = $1 AND status = 'processing' AND lease_owner = $2`;

/**
 * The job queue on PostgreSQL, shared by any number of API replicas and workers. Every method is one statement
 * (so one implicit transaction: never a half-written row, and nothing session-scoped for PgBouncer): jobs are
 * claimed with `FOR UPDATE SKIP LOCKED` under a lease, a worker's writes are conditional on holding the lease, and
 * expired leases are recovered by one statement that locks the rows it takes (SKIP LOCKED), so two workers never
 * recover the same job.
 *
 * @example
 * const store = createPgJobStore(await openPgJobDatabase(url, { max: 10 }));
 * const job = await store.claimNext({ owner: workerId, ms: 30_000 });
 */
export function createPgJobStore(pool: pg.Pool, options: { now?: () => number } = {}): JobStore {
  const now = options.now ?? Date.now;
  const query = async (action: string, sql: string, values: unknown[]): Promise<Row[]> => {
    try {
      return (await pool.query(sql, values)).rows as Row[];
    } catch (error) {
      throw translatePgError(error, action);
    }
  };
  const one = async (action: string, sql: string, values: unknown[]): Promise<JobRecord | undefined> => {
    const [row] = await query(action, sql, values);
    return row ? toJobRecord(row) : undefined;
  };
  const changed = async (action: string, sql: string, values: unknown[]): Promise<boolean> =>
    (await query(action, `${sql} RETURNING id`, values)).length === 1;

  return {
    async insert(job) {
      const created = await one(
        'store the job',
        `INSERT INTO jobs (id, token_jti, subject, url, language, status, stage, progress,
          request_id, idempotency_key, submitted_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, 'queued', 'queued', 0, $6, $7, $8, $8) ON CONFLICT DO NOTHING RETURNING *`,
        [job.id, job.tokenJti, job.subject, job.url, job.language, job.requestId, job.idempotencyKey, now()],
      );
      if (created) return { outcome: 'created', job: created };
      // The conflicting row is committed (ON CONFLICT waited for it), so this statement's snapshot sees it.
      const keyed =
        job.idempotencyKey === null
          ? undefined
          : await one('read the job', 'SELECT * FROM jobs WHERE idempotency_key = $1', [job.idempotencyKey]);
      const [byToken] = keyed
        ? []
        : await query('read the job', 'SELECT id FROM jobs WHERE token_jti = $1', [job.tokenJti]);
      return conflictOutcome(job, keyed, byToken?.['id'] as string | undefined);
    },
    get: (id) => one('read the job', 'SELECT * FROM jobs WHERE id = $1', [id]),
    getByIdempotencyKey: (key) => one('read the job', 'SELECT * FROM jobs WHERE idempotency_key = $1', [key]),
    claimNext(lease) {
      const at = now();
      return one(
        'claim a job',
        `UPDATE jobs SET status = 'processing', stage = 'fetching', progress = 0, attempts = attempts + 1,
          started_at = $1, updated_at = $1, lease_owner = $2, lease_expires_at = $3
        WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY submitted_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
        [at, lease.owner, at + lease.ms],
      );
    },
    renewLease: (id, lease) =>
      changed('renew a lease', `UPDATE jobs SET lease_expires_at = $3 WHERE ${HELD}`, [
        id,
        lease.owner,
        now() + lease.ms,
      ]),
    async reportProgress(id, owner, stage, progress) {
      await query(
        'record progress',
        `UPDATE jobs SET stage = $3, progress = GREATEST(progress, $4), updated_at = $5 WHERE ${HELD}`,
        [id, owner, stage, progress, now()],
      );
    },
    complete: (id, owner, result) =>
      changed(
        'complete the job',
        `UPDATE jobs SET status = 'completed', stage = 'done', progress = 1,
        transcript = $3, engine = $4, model = $5, completed_at = $6, updated_at = $6, lease_owner = NULL, lease_expires_at = NULL
      WHERE ${HELD}`,
        [id, owner, result.transcript, result.engine, result.model, now()],
      ),
    fail: (id, owner, code, message) =>
      changed(
        'fail the job',
        `UPDATE jobs SET status = 'failed', error_code = $3, error_message = $4,
        completed_at = $5, updated_at = $5, lease_owner = NULL, lease_expires_at = NULL WHERE ${HELD}`,
        [id, owner, code, message, now()],
      ),
    release: (id, owner) =>
      changed(
        'requeue the job',
        `UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, started_at = NULL,
        updated_at = $3, lease_owner = NULL, lease_expires_at = NULL WHERE ${HELD}`,
        [id, owner, now()],
      ),
    async recoverExpiredLeases(maxAttempts) {
      const rows = await query(
        'recover jobs',
        `WITH expired AS (
          SELECT id FROM jobs WHERE status = 'processing' AND COALESCE(lease_expires_at, 0) <= $1 FOR UPDATE SKIP LOCKED)
        UPDATE jobs j SET
          status = CASE WHEN j.attempts >= $2 THEN 'failed' ELSE 'queued' END,
          stage = CASE WHEN j.attempts >= $2 THEN j.stage ELSE 'queued' END,
          progress = CASE WHEN j.attempts >= $2 THEN j.progress ELSE 0 END,
          started_at = CASE WHEN j.attempts >= $2 THEN j.started_at ELSE NULL END,
          error_code = CASE WHEN j.attempts >= $2 THEN 'transcription_failed' ELSE NULL END,
          error_message = CASE WHEN j.attempts >= $2 THEN $3::text || j.attempts::text || $4::text ELSE NULL END,
          completed_at = CASE WHEN j.attempts >= $2 THEN $1 ELSE NULL END,
          updated_at = $1, lease_owner = NULL, lease_expires_at = NULL
        FROM expired WHERE j.id = expired.id RETURNING j.id, j.status`,
        [now(), maxAttempts, ...ABANDONED_JOB_MESSAGE],
      );
      const ids = (status: string) => rows.filter((r) => r['status'] === status).map((r) => r['id'] as string);
      return { requeued: ids('queued'), failed: ids('failed') };
    },
    async counts() {
      const [row] = await query(
        'count the jobs',
        `SELECT COUNT(*) FILTER (WHERE status = 'queued')::int AS queued,
        COUNT(*) FILTER (WHERE status = 'processing')::int AS processing FROM jobs WHERE status IN ('queued', 'processing')`,
        [],
      );
      return { queued: Number(row?.['queued'] ?? 0), processing: Number(row?.['processing'] ?? 0) };
    },
    async countByState() {
      const rows = await query('count the jobs', 'SELECT status, COUNT(*)::int AS n FROM jobs GROUP BY status', []);
      return Object.fromEntries(rows.map((r) => [r['status'] as string, Number(r['n'])]));
    },
  };
}
