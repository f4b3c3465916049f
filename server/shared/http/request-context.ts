import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { createAccessLog } from '../logging/access-log.js';
import { isValidRequestId, newRequestId } from './request-id.js';
import { runSteps } from './run-steps.js';

/** Told about every answered request once its response has been sent (e.g. request metrics). */
export type ResponseObserver = (req: Request, res: Response) => void;

export interface RequestContextOptions {
  readonly logger: Logger;
  /** Called, in order, after the access line of each answered request. */
  readonly observers?: readonly ResponseObserver[];
  /** Middleware run on every request once its id is set, before any route (e.g. the shutdown drain). */
  readonly before?: readonly RequestHandler[];
}

/**
 * What every request gets first, in one middleware rather than one Express layer each: its request id (the
 * caller's well-formed X-Request-ID, else a new one) in `res.locals.requestId` and echoed on the response, one
 * `finish` listener that writes the access line and tells the observers, and the `before` middleware.
 *
 * @example
 * app.use(requestContext({ logger, observers: [metrics.countResponse], before: [draining.middleware] }));
 */
export function requestContext(options: RequestContextOptions): RequestHandler {
  const writeAccessLine = createAccessLog(options.logger);
  const observers = [...(options.observers ?? [])];
  const before = [...(options.before ?? [])];
  return (req, res, next) => {
    const startedAtMs = performance.now();
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && isValidRequestId(given) ? given : newRequestId();
    res.locals['requestId'] = id;
    res.setHeader('X-Request-ID', id);
    res.on('finish', () => {
      writeAccessLine(req, res, startedAtMs);
      for (const observe of observers) observe(req, res);
    });
    if (before.length === 0) next();
    else runSteps(before, req, res, next);
  };
}
