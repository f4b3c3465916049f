import { maxHeaderSize, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ErrorCode } from '../../../generated/errors.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../errors/problem.js';
import { newRequestId } from './request-id.js';

/** What Node's HTTP parser reports about a request it could not read (`clientError`). */
type ClientError = Error & { code?: string; bytesParsed?: number };

/**
 * Answers the requests Node refuses before any middleware sees them (`clientError`), with catalog problem+json
 * instead of Node's bare status and empty body: headers over Node's limit (`HPE_HEADER_OVERFLOW`) get 431
 * `request_header_too_large` naming the limit; any other unreadable request (bad request line, bad header
 * syntax) gets 400 `invalid_request`. Each is logged once at info (a client's mistake, not the service's), and
 * the connection is closed, since the rest of its bytes cannot be trusted. A socket already gone is just
 * destroyed. Call it once on every service's server, right after it is created.
 *
 * @example
 * const server = app.listen(port, host);
 * answerClientErrors(server, logger);
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  const limitBytes = maxHeaderSize;
  server.on('clientError', (error: ClientError, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Node's own answer (408) for a request that never finished arriving; no catalog code describes a timeout.
      socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const requestId = newRequestId();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const code: ErrorCode = tooLarge ? 'request_header_too_large' : 'invalid_request';
    const detail = tooLarge
      ? `The request's headers exceed ${limitBytes} bytes.`
      : 'The request is not valid HTTP/1.1.';
    const details = tooLarge
      ? { limitBytes }
      : { errors: [{ pointer: '', message: `is not valid HTTP (${error.code ?? 'parse error'})` }] };
    const problem = problemBody(code, requestId, detail, details);
    const body = Buffer.from(JSON.stringify(problem));
    logger.info(
      {
        requestId,
        code,
        status: problem.status,
        parserCode: error.code ?? null,
        bytesParsed: error.bytesParsed ?? null,
      },
      detail,
    );
    socket.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
            `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${body.length}\r\nX-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n`,
          'latin1',
        ),
        body,
      ]),
    );
  });
}
