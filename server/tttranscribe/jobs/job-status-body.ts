import { jobFailureCatalog } from '../../../generated/errors.js';
import type { components } from '../../../generated/tttranscribe/schema.js';
import type { JobRecord } from './job-store.js';

export type JobStatusBody = components['schemas']['JobStatus'];

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/**
 * Renders a stored job as the spec's JobStatus: the transcript and engine once completed, and once failed an
 * `error` whose `retryable` and `responsibility` come from the job failure catalog.
 *
 * @example
 * res.json(jobStatusBody(store.get(jobId)!));
 */
export function jobStatusBody(job: JobRecord): JobStatusBody {
  const body: JobStatusBody = {
    ok: true,
    jobId: job.id,
    status: job.status,
    stage: job.stage,
    progress: job.progress,
    url: job.url,
    language: job.language,
    submittedAt: iso(job.submittedAt),
    startedAt: isoOrNull(job.startedAt),
    completedAt: isoOrNull(job.completedAt),
    updatedAt: iso(job.updatedAt),
  };
  if (job.status === 'completed') {
    body.transcript = job.transcript ?? '';
    body.engine = { name: job.engine ?? 'unknown', model: job.model };
  }
  if (job.status === 'failed' && job.errorCode !== null) {
    const meta = jobFailureCatalog[job.errorCode];
    body.error = {
      code: job.errorCode,
      message: job.errorMessage ?? meta.exampleMessage,
      retryable: meta.retryable,
      responsibility: meta.responsibility,
    };
  }
  return body;
}
