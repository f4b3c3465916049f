import { isErrorCode } from '../../../generated/errors.js';
import { ApiError } from '../../shared/errors/api-error.js';

/** How a call to TTTranscribe failed, judged from its answer (or the lack of one). */
export type UpstreamFailureKind =
  /** 401/403: TTTranscribe refused the engine's own credentials (X-Engine-Auth or the forwarded token). */
  | 'credentials_rejected'
  /** 400/413/415/422: the caller's input was refused. */
  | 'caller_error'
  /** 409 service_token_already_used. */
  | 'token_already_used'
  /** 404 job_not_found. */
  | 'job_not_found'
  /** 5xx, an unexpected status, or a body the engine could not understand. */
  | 'server_error'
  | 'timeout'
  /** Connection refused, host unreachable, circuit open, or TTTranscribe answered 503. */
  | 'unavailable';

/**
 * What a failed `POST /transcribe` says about whether TTTranscribe stored the job: `not_stored` (nothing was sent:
 * circuit open, connection refused, host unreachable; or TTTranscribe refused it with a 4xx, which it answers
 * before storing), `answered` (TTTranscribe's own answer, a 5xx problem or an unreadable 2xx: its handler has
 * finished, so a lookup by key tells), `unknown` (no answer: a timeout, a connection reset after the request was
 * sent, or a 5xx without TTTranscribe's problem body, which an intermediary may give while TTTranscribe still works).
 */
export type StoreVerdict = 'not_stored' | 'answered' | 'unknown';

/** Facts about a failed upstream call, safe to log and to put in problem details (never a secret). */
export interface UpstreamFailureInfo {
  readonly upstreamStatus?: number;
  readonly upstreamCode?: string;
  readonly upstreamMessage?: string;
  readonly upstreamRequestId?: string | null;
  readonly upstreamDetails?: Record<string, unknown>;
  readonly reason?:
    'circuit_open' | 'connection_refused' | 'unreachable' | 'network_error' | 'upstream_503' | 'unparsable';
  readonly retryAfterSec?: number;
  readonly timeoutMs?: number;
}

/**
 * A failed call to TTTranscribe. Handlers decide about the credit (refund or not) and then turn it into the
 * catalog error with {@link toApiError}.
 *
 * @example
 * try { await upstream.submit(...); } catch (e) { if (e instanceof UpstreamFailure && !e.callerFault) refund(); }
 */
export class UpstreamFailure extends Error {
  override readonly name = 'UpstreamFailure';
  constructor(
    readonly kind: UpstreamFailureKind,
    readonly info: UpstreamFailureInfo,
    options?: { cause?: unknown },
  ) {
    super(
      `TTTranscribe call failed: ${kind}${info.upstreamStatus ? ` (${info.upstreamStatus} ${info.upstreamCode ?? ''})` : ''}`,
      options,
    );
  }

  /** Whether the caller's own input caused it (then the caller keeps the token and pays nothing extra). */
  get callerFault(): boolean {
    return this.kind === 'caller_error';
  }

  /** Whether TTTranscribe may have stored the job of a submission that failed this way (see {@link StoreVerdict}). */
  get storeVerdict(): StoreVerdict {
    const { reason, upstreamStatus: status, upstreamCode } = this.info;
    if (reason === 'circuit_open' || reason === 'connection_refused' || reason === 'unreachable') return 'not_stored';
    if (status !== undefined && status >= 400 && status < 500) return 'not_stored';
    if (status !== undefined && status >= 200 && status < 300) return 'answered';
    if (status !== undefined && status >= 500 && upstreamCode !== undefined) return 'answered';
    return 'unknown';
  }

  /**
   * The catalog error the app receives. `creditRefunded` is added to the details when the operation paid with a
   * credit (submission), with `pending` when the submission's fate is not known yet (the token stays `submitting`
   * until a resubmission or the sweep settles it); 401/403 from upstream never becomes a 401 here.
   */
  toApiError(
    extra: { creditRefunded?: boolean; jobId?: string; pending?: { settlesWithinSec: number } } = {},
  ): ApiError {
    const i = this.info;
    const refund = {
      ...(extra.creditRefunded === undefined ? {} : { creditRefunded: extra.creditRefunded }),
      ...(extra.pending ? { submissionPending: true, settlesWithinSec: extra.pending.settlesWithinSec } : {}),
    };
    const pendingNote = extra.pending
      ? ` The submission is pending: TTTranscribe may have stored the job. Submitting the same service token again finds the job (or submits it now); otherwise the engine settles it within ${extra.pending.settlesWithinSec} s, linking the job or refunding the credit.`
      : '';
    const upstream = {
      upstream: 'tttranscribe',
      upstreamStatus: i.upstreamStatus ?? null,
      upstreamCode: i.upstreamCode ?? null,
      upstreamRequestId: i.upstreamRequestId ?? null,
    };
    switch (this.kind) {
      case 'credentials_rejected':
        return new ApiError(
          'upstream_auth_failure',
          `TTTranscribe rejected the Business Engine's credentials (${i.upstreamCode ?? i.upstreamStatus}).`,
          {
            details: { ...upstream, upstreamMessage: i.upstreamMessage ?? null, ...refund },
            cause: this,
          },
        );
      case 'caller_error': {
        const code =
          i.upstreamCode && isErrorCode(i.upstreamCode) && CALLER_CODES.has(i.upstreamCode)
            ? i.upstreamCode
            : 'invalid_request';
        return new ApiError(code, i.upstreamMessage ?? 'TTTranscribe refused the request.', {
          details: { ...(i.upstreamDetails ?? {}), upstreamRequestId: i.upstreamRequestId ?? null },
          cause: this,
        });
      }
      case 'token_already_used':
        return new ApiError('service_token_already_used', 'This service token already submitted a job.', {
          details: { jobId: i.upstreamDetails?.['jobId'] ?? null },
          cause: this,
        });
      case 'job_not_found':
        return new ApiError(
          'job_not_found',
          extra.jobId ? `No job with id ${extra.jobId} exists at TTTranscribe.` : 'No such job exists at TTTranscribe.',
          {
            details: { jobId: extra.jobId ?? null },
            cause: this,
          },
        );
      case 'server_error':
        return new ApiError(
          'upstream_error',
          i.reason === 'unparsable'
            ? `TTTranscribe answered ${i.upstreamStatus ?? ''} with a body the engine could not understand.${pendingNote}`
            : `TTTranscribe answered ${i.upstreamStatus ?? 'with an error'}${i.upstreamCode ? ` ${i.upstreamCode}` : ''}.${pendingNote}`,
          {
            details: { ...upstream, ...(i.reason ? { reason: i.reason } : {}), ...refund },
            cause: this,
          },
        );
      case 'timeout':
        return new ApiError('upstream_timeout', `TTTranscribe did not answer within ${i.timeoutMs} ms.${pendingNote}`, {
          details: { upstream: 'tttranscribe', timeoutMs: i.timeoutMs ?? null, ...refund },
          cause: this,
        });
      case 'unavailable': {
        const retryAfterSec = Math.max(1, i.retryAfterSec ?? 5);
        return new ApiError(
          'upstream_unavailable',
          `TTTranscribe is unavailable (${(i.reason ?? 'unreachable').replace(/_/g, ' ')}).${pendingNote}`,
          {
            details: { upstream: 'tttranscribe', reason: i.reason ?? 'unreachable', retryAfterSec, ...refund },
            headers: { 'Retry-After': String(retryAfterSec) },
            cause: this,
          },
        );
      }
    }
  }
}

const CALLER_CODES = new Set(['invalid_request', 'payload_too_large', 'unsupported_media_type', 'unsupported_url']);

/**
 * Classifies a non-2xx TTTranscribe answer (status and parsed problem body) as an {@link UpstreamFailure}.
 *
 * @example
 * throw failureFromResponse(response, error);
 */
export function failureFromResponse(response: Response, body: unknown): UpstreamFailure {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof problem['code'] === 'string' ? problem['code'] : undefined;
  const info: UpstreamFailureInfo = {
    upstreamStatus: response.status,
    ...(code ? { upstreamCode: code } : {}),
    ...(typeof problem['detail'] === 'string' ? { upstreamMessage: problem['detail'] } : {}),
    upstreamRequestId:
      response.headers.get('x-request-id') ?? (typeof problem['requestId'] === 'string' ? problem['requestId'] : null),
    ...(typeof problem['details'] === 'object' && problem['details'] !== null
      ? { upstreamDetails: problem['details'] as Record<string, unknown> }
      : {}),
  };
  const s = response.status;
  if (s === 401 || s === 403) return new UpstreamFailure('credentials_rejected', info);
  if (s === 409 && code === 'service_token_already_used') return new UpstreamFailure('token_already_used', info);
  if (s === 404 && code === 'job_not_found') return new UpstreamFailure('job_not_found', info);
  if ((s === 400 || s === 413 || s === 415 || s === 422) && code !== undefined && CALLER_CODES.has(code)) {
    return new UpstreamFailure('caller_error', info);
  }
  if (s === 503) {
    const retryAfter = Number(response.headers.get('retry-after'));
    return new UpstreamFailure('unavailable', {
      ...info,
      reason: 'upstream_503',
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSec: retryAfter } : {}),
    });
  }
  return new UpstreamFailure('server_error', code === undefined ? { ...info, reason: 'unparsable' } : info);
}
