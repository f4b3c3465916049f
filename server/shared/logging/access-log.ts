import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { credentialOf } from '../observability/credential-context.js';

/**
 * Logs one line per request when the response finishes: request id, method, route (operationId), status, the
 * catalog code of an error answer, duration, the authenticated subject when known and the kind and id of the
 * credential used (e.g. `integration_token` / `itk_…`). Never headers or bodies, so no credential can leak here.
 *
 * @example
 * app.use(accessLog(logger));
 */
export function accessLog(logger: Logger): RequestHandler {
  // The line's fields are fixed above and hold no credential, so it skips path redaction, which costs ~20 µs
  // a line with the logger's wildcard paths (every other line of the service stays redacted).
  const access = logger.child({}, { redact: { paths: [] } });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      access.info(
        {
          requestId: res.locals['requestId'],
          method: req.method,
          route: res.locals['operationId'] ?? null,
          path: req.path,
          status: res.statusCode,
          code: res.locals['errorCode'] ?? null,
          durationMs: Math.round(durationMs * 100) / 100,
          subject: res.locals['subject'] ?? null,
          credential: credentialOf(res)?.kind ?? null,
          credentialId: credentialOf(res)?.id ?? null,
          userAgent: req.get('user-agent') ?? null,
        },
        'request',
      );
    });
    next();
  };
}
