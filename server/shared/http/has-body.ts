import type { IncomingMessage } from 'node:http';

/**
 * Whether a request carries a body, as body-parser decides: chunked, or a Content-Length above zero.
 *
 * @example
 * if (!hasBody(req)) return required ? [{ pointer: '/body', message: 'is required' }] : [];
 */
export function hasBody(req: Pick<IncomingMessage, 'headers'>): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}
