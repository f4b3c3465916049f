import type { IncomingMessage } from 'node:http';

/**
 * Whether an error only says that the client went away before its request body arrived (body-parser's
 * `request.aborted`, or a reset on a request already destroyed): a client event, not a failure of the service,
 * so it is never rendered as a 500 nor logged as an error.
 *
 * @example
 * if (isClientAbort(error, req)) logger.info({ event: 'client_aborted_request' }, 'The client aborted the request.');
 */
export function isClientAbort(error: unknown, req: Pick<IncomingMessage, 'destroyed'>): boolean {
  const e = (error ?? {}) as { type?: unknown; code?: unknown };
  if (e.type === 'request.aborted') return true;
  return (
    req.destroyed && (e.code === 'ECONNRESET' || e.code === 'ECONNABORTED' || e.code === 'ERR_STREAM_PREMATURE_CLOSE')
  );
}
