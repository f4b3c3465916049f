import type { JobDatabase } from './database.js';
import type { JobState } from './job-store.js';

/** Every state a job can be in, in the order metrics list them. */
export const JOB_STATES: readonly JobState[] = ['queued', 'processing', 'completed', 'failed'];

/**
 * Counts jobs per state with one prepared `GROUP BY status` (served by the jobs_by_status index), for the
 * `jobs_by_state` gauge read at scrape time.
 *
 * @example
 * const count = jobStateCounts(db);
 * count(); // { queued: 2, processing: 1, completed: 118, failed: 3 }
 */
export function jobStateCounts(db: JobDatabase): () => Record<string, number> {
  const statement = db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status');
  return () => Object.fromEntries((statement.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n]));
}
