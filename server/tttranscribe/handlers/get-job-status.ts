import type { RequestHandler } from 'express';
import { ApiError } from '../../shared/errors/api-error.js';
import { jobStatusBody } from '../jobs/job-status-body.js';
import type { JobStore } from '../jobs/job-store.js';

/**
 * GET /status/{jobId}: the job's state, stage and progress, its transcript once completed, or its job failure
 * code once failed. X-Engine-Auth only (the engine checks which user may read which job); an unknown id is
 * `job_not_found`.
 *
 * @example
 * operations: { getJobStatus: { auth: engineAuth({ verifier, bodyLimitBytes }), handler: getJobStatus({ store }) } }
 */
export function getJobStatus(deps: { store: JobStore }): RequestHandler {
  return async (req, res) => {
    const jobId = String(req.params['jobId']);
    const job = await deps.store.get(jobId);
    if (!job) {
      throw new ApiError('job_not_found', `No job with id ${jobId} exists.`, { details: { jobId } });
    }
    res.json(jobStatusBody(job));
  };
}
