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
 * worker and answers 202 with the job id and a Location header. An `Idempotency-Key` (validated against the spec's
 * pattern) is stored with the job: repeated with the same token it answers the first 202 again with
 * `Idempotent-Replayed: true` and creates nothing; with another token it is `idempotency_key_reused`.
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
  return async (req, res) => {
    const token = res.locals['serviceToken'] as ServiceTokenClaims;
    const body = req.body as TranscribeRequest;
    checkMediaUrl(body.url, deps.allowedMediaHosts);
    const inserted = await deps.store.insert({
      id: newJobId(),
      tokenJti: token.jti,
      subject: token.sub,
      url: body.url,
      language: body.language ?? null,
      requestId: String(res.locals['requestId']),
      idempotencyKey: req.get('idempotency-key') ?? null,
    });
    if (inserted.outcome === 'token_used') {
      throw new ApiError(
        'service_token_already_used',
        `This service token already submitted job ${inserted.existingJobId}; vend a new token for a new job.`,
        {
          details: { jobId: inserted.existingJobId },
        },
      );
    }
    if (inserted.outcome === 'key_reused') {
      throw new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key already submitted a job with another service token; use a new key for each submission.',
        {
          // The catalog documents this code's detail as clientRequestId: the caller's idempotency key, whatever its header.
          details: { clientRequestId: req.get('idempotency-key') },
        },
      );
    }
    const { job } = inserted;
    if (inserted.outcome === 'created') deps.onQueued();
    else res.set('Idempotent-Replayed', 'true');
    // A replay repeats the first answer; the job's current state is at its status URL.
    const accepted: TranscribeAccepted = {
      ok: true,
      jobId: job.id,
      status: 'queued',
      submittedAt: new Date(job.submittedAt).toISOString(),
    };
    res.status(202).location(`/status/${job.id}`).json(accepted);
  };
}
