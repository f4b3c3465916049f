import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

/**
 * Logs one line per request when the response finishes: request id, method, route (operationId), status,
 * duration and the authenticated subject when known. Never headers or bodies, so no credential can leak here.
 *
 * @example
 * app.use(accessLog(logger));
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.info(
        {
          requestId: res.locals['requestId'],
          method: req.method,
          route: res.locals['operationId'] ?? null,
          path: req.path,
          status: res.statusCode,
          durationMs: Math.round(durationMs * 100) / 100,
          subject: res.locals['subject'] ?? null,
          userAgent: req.get('user-agent') ?? null,
        },
        'request',
      );
    });
    next();
  };
}
