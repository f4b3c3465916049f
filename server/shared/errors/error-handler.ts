import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';
import { ApiError } from './api-error.js';
import { authChallenge } from './auth-challenge.js';
import { isClientAbort } from './client-abort.js';
import { translateError } from './translate-error.js';

/** Observes every rendered error, e.g. to count auth failures in metrics. */
export type ErrorObserver = (
  error: ApiError,
  req: Parameters<RequestHandler>[0],
  res: Parameters<RequestHandler>[1],
) => void;

/** Told about every request whose client went away before its body arrived (e.g. to count them in metrics). */
export type ClientAbortObserver = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => void;

/**
 * The one error middleware: renders any error as catalog problem+json, repeats the request id, sets the
 * error's headers (and on every 401 the `WWW-Authenticate` challenge, see {@link authChallenge}), and logs it: 401/403 at warn with the code, route, subject, client and the credential the
 * auth middleware saw (`res.locals.credential`: kind, id, claimed subject, age and expiry, never the value);
 * upstream_* and 5xx at error with the cause; anything else at info. The code is also left in
 * `res.locals.errorCode` for the access log line. A client that aborted its request body gets no answer (its
 * connection is gone): one info line `client_aborted_request` and `onClientAbort`, never a 500.
 *
 * @example
 * app.use(errorHandler({ logger }));
 */
export function errorHandler(options: {
  logger: Logger;
  onError?: ErrorObserver;
  onClientAbort?: ClientAbortObserver;
  realm?: string;
}): ErrorRequestHandler {
  const realm = options.realm ?? 'pluct';
  return (error: unknown, req, res, next) => {
    if (isClientAbort(error, req)) {
      const { received, expected } = error as { received?: unknown; expected?: unknown };
      options.logger.info(
        {
          event: 'client_aborted_request',
          requestId: res.locals['requestId'],
          method: req.method,
          route: res.locals['operationId'] ?? req.path,
          receivedBytes: typeof received === 'number' ? received : null,
          expectedBytes: typeof expected === 'number' ? expected : null,
          userAgent: req.get('user-agent'),
        },
        'The client aborted the request before its body arrived.',
      );
      options.onClientAbort?.(req, res);
      return;
    }
    if (res.headersSent) {
      next(error);
      return;
    }
    const apiError = translateError(error, {
      method: req.method,
      path: req.path,
      contentType: req.get('content-type'),
    });
    const requestId = String(res.locals['requestId'] ?? 'unknown');
    const body = problemBody(apiError.code, requestId, apiError.detail, apiError.details);
    const log = {
      requestId,
      code: apiError.code,
      status: apiError.status,
      method: req.method,
      route: (res.locals['operationId'] as string | undefined) ?? req.path,
      subject: res.locals['subject'] as unknown,
      userAgent: req.get('user-agent'),
      credential: res.locals['credential'] as unknown,
      details: apiError.details,
    };
    res.locals['errorCode'] = apiError.code;
    options.onError?.(apiError, req, res);
    res.status(apiError.status);
    for (const [name, value] of Object.entries(apiError.headers)) res.setHeader(name, value);
    const challenge = authChallenge(apiError, realm);
    if (challenge !== undefined && apiError.headers['WWW-Authenticate'] === undefined)
      res.setHeader('WWW-Authenticate', challenge);
    res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    res.send(JSON.stringify(body));
    // Logged once the answer is on its way, so a failure (an open circuit above all) answers without waiting for it.
    if (apiError.code === 'internal_error') {
      options.logger.error({ ...log, err: apiError.cause ?? apiError }, apiError.detail);
    } else if (apiError.status >= 500 || apiError.code.startsWith('upstream_')) {
      // A classified failure (upstream down, database busy): the chain of causes says what happened; a stack
      // trace would add nothing, and formatting one costs milliseconds (source maps) on a path that must fail fast.
      options.logger.error({ ...log, cause: causeChain(apiError.cause) }, apiError.detail);
    } else if (apiError.status === 401 || apiError.status === 403) {
      options.logger.warn(log, apiError.detail);
    } else {
      options.logger.info(log, apiError.detail);
    }
  };
}

/** `Name: message` of an error and each of its causes, outermost first (at most 5), without stacks. */
export function causeChain(cause: unknown): string[] {
  const chain: string[] = [];
  for (let current = cause; current !== undefined && current !== null && chain.length < 5;) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      chain.push(`${current.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${current.message}`);
      current = current.cause;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a non-Error cause is logged as String() shows it
      chain.push(String(current));
      break;
    }
  }
  return chain;
}
