import { errorCatalog, errorTypeUrl, type ErrorCode, type Problem } from '../../../generated/errors.js';

/**
 * Builds the application/problem+json body of a catalog code: the code's fixed metadata plus this instance's
 * detail, details and request id.
 *
 * @example
 * const body = problemBody('token_expired', 'req_123', 'The user JWT expired 42 seconds ago.', { expiredAt });
 */
export function problemBody(
  code: ErrorCode,
  requestId: string,
  detail?: string,
  details: Record<string, unknown> = {},
): Problem {
  const meta = errorCatalog[code];
  return {
    type: errorTypeUrl(code),
    title: meta.title,
    status: meta.status,
    detail: detail ?? meta.title,
    ok: false,
    code,
    requestId,
    retryable: meta.retryable,
    responsibility: meta.responsibility,
    guidance: meta.guidance,
    details,
  };
}

/** The media type of every error body. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
