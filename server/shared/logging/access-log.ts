import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { credentialOf } from '../observability/credential-context.js';

/** Writes the access line of one answered request; `startedAtMs` is `performance.now()` when it arrived. */
export type AccessLogWriter = (req: Request, res: Response, startedAtMs: number) => void;

/**
 * The access log: one line per request when its response has finished: request id, method, route
 * (operationId), status, the catalog code of an error answer, duration, the authenticated subject when known and
 * the kind and id of the credential used (e.g. `integration_token` / `itk_…`). Never headers or bodies, so no
 * credential can leak here. `requestContext` (server/shared/http/request-context.ts) calls it.
 *
 * @example
 * const writeAccessLine = createAccessLog(logger);
 * res.once('finish', () => writeAccessLine(req, res, startedAtMs));
 */
export function createAccessLog(logger: Logger): AccessLogWriter {
  // The line's fields are fixed above and hold no credential, so it skips path redaction, which costs ~20 µs
  // a line with the logger's wildcard paths (every other line of the service stays redacted).
  const access = logger.child({}, { redact: { paths: [] } });
  return (req, res, startedAtMs) => {
    const credential = credentialOf(res);
    const locals = res.locals;
    access.info(
      {
        requestId: locals['requestId'],
        method: req.method,
        route: locals['operationId'] ?? null,
        path: req.path,
        status: res.statusCode,
        code: locals['errorCode'] ?? null,
        durationMs: Math.round((performance.now() - startedAtMs) * 100) / 100,
        subject: locals['subject'] ?? null,
        credential: credential?.kind ?? null,
        credentialId: credential?.id ?? null,
        userAgent: req.headers['user-agent'] ?? null,
      },
      'request',
    );
  };
}
