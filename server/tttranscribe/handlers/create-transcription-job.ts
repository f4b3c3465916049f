import type { RequestHandler } from 'express';
import type { components } from '../../../generated/tttranscribe/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import type { ServiceTokenClaims } from '../auth/service-token.js';
import { newJobId } from '../jobs/job-id.js';
import type { JobStore } from '../jobs/job-store.js';
import { checkMediaUrl } from '../jobs/media-url.js';

type TranscribeRequest = components['schemas']['TranscribeRequest'];
type TranscribeAccepted = components['schemas']['TranscribeAccepted'];

/**
 * POST /transcribe, after X-Engine-Auth and the service token (the operation's `auth`) and request validation:
 * checks the URL rules (`unsupported_url`), stores the job with the token's `jti` (UNIQUE: a second submission
 * with the same token is `service_token_already_used` naming the first job, and never a second job), wakes the
 * worker and answers 202 with the job id and a Location header.
 *
 * @example
 * operations: { createTranscriptionJob: { auth: [engineAuth(...), serviceTokenAuth(...)], handler: createTranscriptionJob(deps) } }
 */
export function createTranscriptionJob(deps: {
  store: JobStore;
  allowedMediaHosts: readonly string[];
  /** Called once a job is stored (the worker's `notify`). */
  onQueued: () => void;
}): RequestHandler {
  return (req, res) => {
    const token = res.locals['serviceToken'] as ServiceTokenClaims;
    const body = req.body as TranscribeRequest;
    checkMediaUrl(body.url, deps.allowedMediaHosts);
    const inserted = deps.store.insert({
      id: newJobId(),
      tokenJti: token.jti,
      subject: token.sub,
      url: body.url,
      language: body.language ?? null,
      requestId: String(res.locals['requestId']),
    });
    if (!inserted.ok) {
      throw new ApiError('service_token_already_used', `This service token already submitted job ${inserted.existingJobId}; vend a new token for a new job.`, {
        details: { jobId: inserted.existingJobId },
      });
    }
    deps.onQueued();
    const { job } = inserted;
    const accepted: TranscribeAccepted = { ok: true, jobId: job.id, status: 'queued', submittedAt: new Date(job.submittedAt).toISOString() };
    res.status(202).location(`/status/${job.id}`).json(accepted);
  };
}
