import type pg from 'pg';
import type { Bucket, TokenState } from '../db/engine-records.js';
import type { EngineStore } from '../db/engine-store.js';
import { runQuery, runTransaction } from '../db/postgres-pool.js';
import { creditIn } from './postgres-ledger.js';
import { toTokenRecord } from './postgres-rows.js';

type Client = pg.PoolClient;
type Row = Record<string, unknown>;

/**
 * Service-token records on PostgreSQL. Every state change is one conditional UPDATE on the state it leaves, so it
 * happens at most once across replicas; a refund moves the token to `refunded` and credits the bucket it was paid
 * from in one transaction (one refund per token).
 *
 * @example
 * const tokens = postgresTokenRecords(pool, Date.now);
 * if (await tokens.claim(jti, submissionKey)) { ... }
 */
export function postgresTokenRecords(pool: pg.Pool, now: () => number): EngineStore['tokens'] {
  const query = (what: string, sql: string, values: unknown[]) => runQuery<Row>(pool, what, sql, values);
  const transaction = <T>(what: string, work: (c: Client) => Promise<T>) => runTransaction(pool, what, work);
  const one = async (what: string, sql: string, values: unknown[]) => {
    const row = (await query(what, sql, values)).rows[0];
    return row ? toTokenRecord(row) : undefined;
  };
  const many = async (what: string, sql: string, values: unknown[]) =>
    (await query(what, sql, values)).rows.map(toTokenRecord);
  const changed = async (what: string, sql: string, values: unknown[]) =>
    (await query(what, sql, values)).rowCount === 1;
  return {
    get: (jti) => one('read the service token', 'SELECT * FROM service_tokens WHERE jti = $1', [jti]),
    byJob: (jobId) => one('read the job', 'SELECT * FROM service_tokens WHERE job_id = $1', [jobId]),
    claim: (jti, key) =>
      changed(
        'claim the service token',
        `UPDATE service_tokens SET state = 'submitting', submission_key = $1, updated_at = $2 WHERE jti = $3 AND state = 'vended'`,
        [key, now(), jti],
      ),
    resume: (jti, key) =>
      changed(
        'resume the submission',
        `UPDATE service_tokens SET updated_at = GREATEST(updated_at + 1, $1) WHERE jti = $2 AND state = 'submitting' AND submission_key = $3`,
        [now(), jti, key],
      ),
    release: (jti) =>
      changed(
        'release the service token',
        `UPDATE service_tokens SET state = 'vended', updated_at = $1 WHERE jti = $2 AND state = 'submitting'`,
        [now(), jti],
      ),
    markSubmitted: (jti, jobId) => {
      const at = now();
      return changed(
        'record the job',
        `UPDATE service_tokens SET state = 'submitted', job_id = $1, submitted_at = $2, updated_at = $2 WHERE jti = $3 AND state = 'submitting'`,
        [jobId, at, jti],
      );
    },
    consume: (jti) => {
      const at = now();
      return changed(
        'settle the job',
        `UPDATE service_tokens SET state = 'consumed', settled_at = $1, updated_at = $1 WHERE jti = $2 AND state = 'submitted'`,
        [at, jti],
      );
    },
    refund: (jti, from, context) =>
      transaction('refund the credit', async (c) => {
        const at = now();
        const unchanged = context.unchangedSince === undefined ? '' : ' AND updated_at = $5';
        const { rows } = await c.query(
          `UPDATE service_tokens SET state = 'refunded', refund_reason = $1, settled_at = $2, updated_at = $2
        WHERE jti = $3 AND state = $4${unchanged} RETURNING user_id, bucket, job_id`,
          [
            context.reason,
            at,
            jti,
            from satisfies TokenState,
            ...(context.unchangedSince === undefined ? [] : [context.unchangedSince]),
          ],
        );
        const token = rows[0] as { user_id: string; bucket: Bucket; job_id: string | null } | undefined;
        if (!token) return false;
        await creditIn(c, now, token.user_id, 'refund', token.bucket, 1, {
          reason: context.reason,
          requestId: context.requestId,
          tokenId: jti,
          jobId: token.job_id,
        });
        return true;
      }),
    expiredUnused: (before, limit) =>
      many(
        'list expired tokens',
        `SELECT * FROM service_tokens WHERE state = 'vended' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
        [before, limit],
      ),
    stuckSubmitting: (before, limit) =>
      many(
        'list interrupted submissions',
        `SELECT * FROM service_tokens WHERE state = 'submitting' AND updated_at <= $1 ORDER BY updated_at LIMIT $2`,
        [before, limit],
      ),
    unsettled: (limit, after) => {
      const at = after?.submittedAt ?? -1;
      return many(
        'list unsettled jobs',
        `SELECT * FROM service_tokens WHERE state = 'submitted'
        AND (submitted_at > $1 OR (submitted_at = $1 AND jti > $2)) ORDER BY submitted_at, jti LIMIT $3`,
        [at, after?.jti ?? '', limit],
      );
    },
  };
}
