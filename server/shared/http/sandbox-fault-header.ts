import type { RequestHandler } from 'express';
import { ApiError } from '../errors/api-error.js';

/** The sandbox-only fault header (see server/sandbox/faults.ts), the one definition both the sandbox and the services use. */
export const SANDBOX_FAULT_HEADER = 'Pluct-Sandbox-Fault';

/**
 * Refuses a request carrying `Pluct-Sandbox-Fault` with 400 invalid_request: faults exist only in the sandbox
 * (`npm run sandbox`, which consumes the header before the service sees it), never in a real service.
 *
 * @example
 * app.use(refuseSandboxFaultHeader);
 */
export const refuseSandboxFaultHeader: RequestHandler = (req, _res, next) => {
  if (req.headers[SANDBOX_FAULT_HEADER.toLowerCase()] === undefined) {
    next();
    return;
  }
  next(
    new ApiError(
      'invalid_request',
      `${SANDBOX_FAULT_HEADER} is a sandbox-only header; this is not the sandbox, so no fault can be injected.`,
      {
        details: { header: SANDBOX_FAULT_HEADER, reason: 'sandbox_only' },
      },
    ),
  );
};
