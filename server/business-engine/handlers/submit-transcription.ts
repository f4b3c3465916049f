import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { components } from '../../../generated/business-engine/schema.js';
import { assertUsable } from '../auth/require-service-token.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import type { TokenStore } from '../tokens/token-store.js';
import type { TttUpstream } from '../upstream/ttt-upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { JOB_ID_PATTERN } from '../../protocol/job-id.js';

type TranscribeRequest = components['schemas']['TranscribeRequest'];

const REFUND_REASON: Record<UpstreamFailure['kind'], string> = {
  credentials_rejected: 'upstream_auth_failure',
  server_error: 'upstream_error',
  timeout: 'upstream_timeout',
  unavailable: 'upstream_unavailable',
  caller_error: 'caller_error',
  token_already_used: 'token_already_used',
  job_not_found: 'upstream_error',
};

/**
 * POST /ttt/transcribe: claims the service token (one job per token, atomically), forwards the job to
 * TTTranscribe through the signed client, and records jobId -> user. A failure that is not the caller's refunds
 * the credit (and revokes the token); the caller's own mistake (invalid_request, unsupported_url) gives the token
 * back so it can be used with a correct URL.
 *
 * @example
 * operations.submitTranscription = { auth: [requireServiceToken(authDeps), limit], handler: submitTranscription(deps) };
 */
export function submitTranscription(deps: { tokens: TokenStore; upstream: TttUpstream; logger: Logger }): RequestHandler {
  return async (req, res) => {
    const caller = callerOf(res, 'service_token');
    const requestId = requestIdOf(res);
    const { tokens } = deps;
    const circuitOpen = deps.upstream.openCircuitFailure('submit');
    if (circuitOpen) throw refundWithoutForwarding(deps, caller.jti, circuitOpen, requestId);
    if (!tokens.claim(caller.jti)) {
      const record = tokens.get(caller.jti);
      if (record) assertUsable(record);
      throw new Error(`service token ${caller.jti} could not be claimed`);
    }
    const input = req.body as TranscribeRequest;
    let accepted;
    try {
      accepted = await deps.upstream.submit({
        serviceToken: caller.token,
        body: { url: input.url, ...(input.language === undefined ? {} : { language: input.language }) },
        requestId,
      });
    } catch (error) {
      throw settleFailedSubmission(deps, caller.jti, error, requestId);
    }
    tokens.markSubmitted(caller.jti, accepted.jobId);
    res.status(202).setHeader('Location', `/ttt/status/${accepted.jobId}`);
    res.json(accepted);
    // Logged once the answer is on its way: the line is not on the caller's critical path.
    deps.logger.info({ requestId, jobId: accepted.jobId, tokenId: caller.jti, userId: caller.userId }, 'transcription submitted');
  };
}

/**
 * The circuit is open, so nothing is forwarded: the token goes from vended straight to refunded in one
 * transaction (an open circuit must answer fast). A token that is not vended any more gets its own error.
 */
function refundWithoutForwarding(deps: { tokens: TokenStore }, jti: string, failure: UpstreamFailure, requestId: string): unknown {
  const creditRefunded = deps.tokens.refund(jti, 'vended', { reason: REFUND_REASON[failure.kind], requestId });
  if (!creditRefunded) {
    const record = deps.tokens.get(jti);
    if (record) assertUsable(record);
  }
  // No log line of its own: the error handler logs the answer (code, reason, creditRefunded) with the request id,
  // and the refund's ledger entry names the token; an open circuit must stay cheap to answer.
  return failure.toApiError({ creditRefunded });
}

/** Decides the token's fate after a failed forward and returns the error to answer with. */
function settleFailedSubmission(deps: { tokens: TokenStore; logger: Logger }, jti: string, error: unknown, requestId: string): unknown {
  const { tokens } = deps;
  if (!(error instanceof UpstreamFailure)) {
    tokens.refund(jti, 'submitting', { reason: 'submission_failed', requestId });
    return error;
  }
  if (error.callerFault) {
    tokens.release(jti);
    return error.toApiError();
  }
  if (error.kind === 'token_already_used') {
    // TTTranscribe already holds a job for this token (an earlier answer was lost): follow that job.
    const jobId = error.info.upstreamDetails?.['jobId'];
    if (typeof jobId === 'string' && JOB_ID_PATTERN.test(jobId)) tokens.markSubmitted(jti, jobId);
    else tokens.release(jti);
    return error.toApiError();
  }
  const creditRefunded = tokens.refund(jti, 'submitting', { reason: REFUND_REASON[error.kind], requestId });
  deps.logger.warn({ requestId, tokenId: jti, kind: error.kind, upstream: error.info, creditRefunded }, 'submission to TTTranscribe failed');
  return error.toApiError({ creditRefunded });
}
