import type { RequestHandler } from 'express';
import { ApiError } from '../../shared/errors/api-error.js';
import { jobStatusBody } from '../jobs/job-status-body.js';
import type { JobStore } from '../jobs/job-store.js';

/**
 * GET /jobs/by-idempotency-key/{key}: the status of the job a submission with this Idempotency-Key created (as
 * GET /status/{jobId} gives it), or `job_not_found` when none was stored under it. X-Engine-Auth only: the engine
 * uses it to recover a submission interrupted by its own crash.
 *
 * @example
 * operations: { getJobByIdempotencyKey: { auth: engineAuth({ verifier, bodyLimitBytes }), handler: getJobByIdempotencyKey({ store }) } }
 */
export function getJobByIdempotencyKey(deps: { store: JobStore }): RequestHandler {
  return async (req, res) => {
    const key = String(req.params['key']);
    const job = await deps.store.getByIdempotencyKey(key);
    if (!job) {
      throw new ApiError('job_not_found', `No job was stored under Idempotency-Key ${key}.`, {
        details: { idempotencyKey: key },
      });
    }
    res.json(jobStatusBody(job));
  };
}
