import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { components } from '../../../generated/business-engine/schema.js';
import { alreadyUsed, assertUsable } from '../auth/require-service-token.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import { newTokenId } from '../tokens/service-token-keys.js';
import type { TokenRecords } from '../db/engine-store.js';
import type { TttUpstream, UpstreamAccepted } from '../upstream/ttt-upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { JOB_ID_PATTERN } from '../../protocol/job-id.js';

type TranscribeRequest = components['schemas']['TranscribeRequest'];

/**
 * The points of a submission where a crash leaves something to recover: after the token is claimed (its
 * submission key recorded) and before TTTranscribe is called; after TTTranscribe answered and before the job id
 * is recorded. Tests make {@link SubmitDeps.faultPoint} throw there to stop the submission as a SIGKILL would.
 */
export type SubmissionFaultPoint = 'submit:claimed' | 'submit:forwarded';

export interface SubmitDeps {
  readonly tokens: TokenRecords;
  readonly upstream: TttUpstream;
  readonly logger: Logger;
  /**
   * Within how many seconds a submission left pending (an ambiguous failure) is settled by the sweep at the latest:
   * the stuck window plus one sweep interval. Named in the answer.
   */
  readonly pendingSettlesWithinSec: number;
  /** Called at each {@link SubmissionFaultPoint} (tests only). */
  readonly faultPoint?: (point: SubmissionFaultPoint) => void;
}
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
 * POST /ttt/transcribe: claims the service token (one job per token, atomically) and records a fresh submission
 * key (`sub_` + 26 base32 characters) in the same statement, BEFORE forwarding; forwards the job to TTTranscribe
 * with that key as its Idempotency-Key, and records jobId -> token. A token left in `submitting` (an engine that
 * died mid-submission) is resumed with its recorded key: TTTranscribe answers with the job it already stored, or
 * stores it now, so there is never a second job. The caller's own mistake (invalid_request, unsupported_url) gives
 * the token back so it can be used with a correct URL. Any other failure never ends in both a job and a refund: the
 * credit is refunded at once only when TTTranscribe provably did not store the job (nothing sent, or its 4xx);
 * after its 5xx the engine asks it once by key (found: the submission succeeded, 202 with that job; not found:
 * refunded); with no answer (a timeout, a reset) the token stays `submitting` and the error says the submission is
 * pending, until a resubmission of the token or the sweep settles it.
 *
 * @example
 * operations.submitTranscription = { auth: [requireServiceToken(authDeps), limit], handler: submitTranscription(deps) };
 */
export function submitTranscription(deps: SubmitDeps): RequestHandler {
  return async (req, res) => {
    const caller = callerOf(res, 'service_token');
    const requestId = requestIdOf(res);
    const { tokens } = deps;
    const circuitOpen = deps.upstream.openCircuitFailure('submit');
    if (circuitOpen) throw await refundWithoutForwarding(deps, caller.jti, circuitOpen, requestId);
    const submissionKey = await claimOrResume(tokens, caller.jti);
    deps.faultPoint?.('submit:claimed');
    const input = req.body as TranscribeRequest;
    let accepted: UpstreamAccepted;
    try {
      accepted = await deps.upstream.submit({
        serviceToken: caller.token,
        idempotencyKey: submissionKey,
        body: { url: input.url, ...(input.language === undefined ? {} : { language: input.language }) },
        requestId,
      });
    } catch (error) {
      const settled = await settleFailedSubmission(deps, { jti: caller.jti, submissionKey }, error, requestId);
      if (!('accepted' in settled)) throw settled.error;
      accepted = settled.accepted;
    }
    deps.faultPoint?.('submit:forwarded');
    if (!(await tokens.markSubmitted(caller.jti, accepted.jobId))) {
      // Another request resuming the same submission linked it first (the same job: TTTranscribe replayed it), or
      // the sweep settled the token meanwhile; the job id TTTranscribe gave is the answer either way.
      const record = await tokens.get(caller.jti);
      if (record?.jobId !== accepted.jobId) {
        deps.logger.error(
          { requestId, tokenId: caller.jti, jobId: accepted.jobId, record },
          'submission answered after its token was settled otherwise',
        );
      }
    }
    res.status(202).setHeader('Location', `/ttt/status/${accepted.jobId}`);
    res.json(accepted);
    // Logged once the answer is on its way: the line is not on the caller's critical path.
    deps.logger.info(
      { requestId, jobId: accepted.jobId, tokenId: caller.jti, userId: caller.userId, submissionKey },
      'transcription submitted',
    );
  };
}

/**
 * The submission key to send: a fresh one recorded by claiming a vended token, or the one a token left in
 * `submitting` recorded (resuming it). Throws the token's own error otherwise.
 */
async function claimOrResume(tokens: TokenRecords, jti: string): Promise<string> {
  const fresh = newTokenId('sub_');
  if (await tokens.claim(jti, fresh)) return fresh;
  const record = await tokens.get(jti);
  if (!record) throw new Error(`service token ${jti} could not be claimed`);
  if (record.state === 'submitting') {
    if (record.submissionKey !== null && (await tokens.resume(jti, record.submissionKey))) return record.submissionKey;
    // No key (an older engine's claim), or the sweep settled it just now: the token answers for itself.
    const now = await tokens.get(jti);
    if (now?.state === 'submitting') throw alreadyUsed(now);
    if (now) assertUsable(now);
    throw new Error(`service token ${jti} could not be resumed`);
  }
  assertUsable(record);
  throw new Error(`service token ${jti} could not be claimed`);
}

/**
 * The circuit is open, so nothing is forwarded: a vended token goes straight to refunded in one transaction (an
 * open circuit must answer fast). A token left in `submitting` is not refunded: TTTranscribe may hold its job, so
 * the sweep settles it by its key once TTTranscribe answers. A token that is neither gets its own error.
 */
async function refundWithoutForwarding(
  deps: { tokens: TokenRecords },
  jti: string,
  failure: UpstreamFailure,
  requestId: string,
): Promise<unknown> {
  const creditRefunded = await deps.tokens.refund(jti, 'vended', { reason: REFUND_REASON[failure.kind], requestId });
  if (!creditRefunded) {
    const record = await deps.tokens.get(jti);
    if (record) assertUsable(record);
  }
  // No log line of its own: the error handler logs the answer (code, reason, creditRefunded) with the request id,
  // and the refund's ledger entry names the token; an open circuit must stay cheap to answer.
  return failure.toApiError({ creditRefunded });
}

/** Decides the token's fate after a failed forward: the error to answer with, or the job it stored after all. */
async function settleFailedSubmission(
  deps: Pick<SubmitDeps, 'tokens' | 'upstream' | 'logger' | 'pendingSettlesWithinSec'>,
  submission: { jti: string; submissionKey: string },
  error: unknown,
  requestId: string,
): Promise<{ error: unknown } | { accepted: UpstreamAccepted }> {
  const { tokens } = deps;
  const { jti } = submission;
  if (!(error instanceof UpstreamFailure)) {
    await tokens.refund(jti, 'submitting', { reason: 'submission_failed', requestId });
    return { error };
  }
  if (error.callerFault) {
    await tokens.release(jti);
    return { error: error.toApiError() };
  }
  if (error.kind === 'token_already_used') {
    // TTTranscribe already holds a job for this token (an earlier answer was lost): follow that job.
    const jobId = error.info.upstreamDetails?.['jobId'];
    if (typeof jobId === 'string' && JOB_ID_PATTERN.test(jobId)) await tokens.markSubmitted(jti, jobId);
    else await tokens.release(jti);
    return { error: error.toApiError() };
  }
  const verdict = error.storeVerdict;
  const log = (outcome: string, extra: Record<string, unknown> = {}) =>
    deps.logger.warn(
      { requestId, tokenId: jti, kind: error.kind, upstream: error.info, verdict, outcome, ...extra },
      'submission to TTTranscribe failed',
    );
  if (verdict === 'not_stored') {
    const creditRefunded = await tokens.refund(jti, 'submitting', { reason: REFUND_REASON[error.kind], requestId });
    log('refunded', { creditRefunded });
    return { error: error.toApiError({ creditRefunded }) };
  }
  if (verdict === 'answered') {
    // TTTranscribe's handler has finished, so it either stored the job or not: ask it once.
    const before = await tokens.get(jti);
    try {
      const job = await deps.upstream.settleLookup(submission.submissionKey, requestId);
      log('found_by_key', { jobId: job.jobId });
      return { accepted: { ok: true, jobId: job.jobId, status: 'queued', submittedAt: job.submittedAt } };
    } catch (lookupError) {
      if (lookupError instanceof UpstreamFailure && lookupError.kind === 'job_not_found' && before) {
        // Unless a resubmission of the token resumed it meanwhile (it may be storing the job right now).
        const context = { reason: REFUND_REASON[error.kind], requestId, unchangedSince: before.updatedAt };
        const creditRefunded = await tokens.refund(jti, 'submitting', context);
        log('refunded', { creditRefunded });
        if (creditRefunded) return { error: error.toApiError({ creditRefunded }) };
      } else {
        log('lookup_failed', {
          lookup: lookupError instanceof UpstreamFailure ? lookupError.info : String(lookupError),
        });
      }
    }
  }
  // No answer (the request may still land), or no way to tell now: no refund yet, the token stays `submitting`.
  if (verdict === 'unknown') log('pending');
  return {
    error: error.toApiError({ creditRefunded: false, pending: { settlesWithinSec: deps.pendingSettlesWithinSec } }),
  };
}
