import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** A new request id: `req_` and 32 hex characters. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/** Whether a caller-chosen request id is acceptable (8-128 characters of `A-Z a-z 0-9 . _ : -`). */
export function isValidRequestId(value: string | undefined): value is string {
  return value !== undefined && REQUEST_ID.test(value);
}

/**
 * Takes the caller's X-Request-ID when well-formed (else generates one), stores it in `res.locals.requestId`
 * and echoes it on every response, so one id follows a request from the app through the engine to TTTranscribe.
 *
 * @example
 * app.use(requestId());
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = isValidRequestId(given) ? given : newRequestId();
    res.locals['requestId'] = id;
    res.setHeader('X-Request-ID', id);
    next();
  };
}
