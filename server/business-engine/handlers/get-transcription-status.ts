import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import { settleJob } from '../jobs/job-settlement.js';
import type { TokenRecords } from '../db/engine-store.js';
import type { TttUpstream } from '../upstream/ttt-upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';

/**
 * GET /ttt/status/{jobId}: the job's status from TTTranscribe plus `creditRefunded`, for the owner's user JWT or
 * the service token that created the job. A terminal status settles the credit (once).
 *
 * @example
 * operations.getTranscriptionStatus = { auth: requireJobReader(authDeps), handler: getTranscriptionStatus(deps) };
 */
export function getTranscriptionStatus(deps: {
  tokens: TokenRecords;
  upstream: TttUpstream;
  logger: Logger;
}): RequestHandler {
  return async (req, res) => {
    const jobId = String(req.params['jobId']);
    const caller = callerOf(res, 'user', 'service_token');
    const requestId = requestIdOf(res);
    const record = await deps.tokens.byJob(jobId);
    if (!record) {
      throw new ApiError('job_not_found', `No job with id ${jobId} exists.`, { details: { jobId } });
    }
    const owns = caller.kind === 'user' ? record.userId === caller.userId : record.jti === caller.jti;
    if (!owns) {
      throw new ApiError(
        'forbidden',
        caller.kind === 'user'
          ? 'This job belongs to another user.'
          : 'This job was submitted with another service token.',
        {
          details: { resource: 'job', jobId },
        },
      );
    }
    let status;
    try {
      status = await deps.upstream.status(jobId, requestId);
    } catch (error) {
      throw error instanceof UpstreamFailure ? error.toApiError({ jobId }) : error;
    }
    const { token } = await settleJob(deps.tokens, deps.logger, record, status, requestId);
    const body: components['schemas']['TranscriptionStatus'] = {
      ...status,
      creditRefunded: token.state === 'refunded',
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  };
}
