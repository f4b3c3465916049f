import express, { type Request, type RequestHandler } from 'express';
import { ApiError } from '../../shared/errors/api-error.js';
import { ENGINE_AUTH_HEADER, bearerTokenFromAuthorization, type EngineAuthKey } from '../../protocol/engine-auth.js';
import {
  createEngineAuthVerifier,
  type EngineAuthNonceStore,
  type EngineAuthVerifier,
} from './engine-auth-verifier.js';
import { refuseSeveralAuthorizations } from '../../shared/auth/bearer.js';
import { rawBody } from '../../shared/http/create-service-app.js';
import { headerCount } from '../../shared/auth/raw-headers.js';
import { hasBody } from '../../shared/http/has-body.js';

/** X-Engine-Auth timestamp tolerance, seconds (published at /.well-known/engine-auth). */
export const ENGINE_AUTH_TOLERANCE_SEC = 300;
/** How long a nonce is remembered, seconds (published at /.well-known/engine-auth). */
export const ENGINE_AUTH_REPLAY_WINDOW_SEC = 600;

/**
 * The verifier TTTranscribe uses: the shared module's, with the published tolerance and replay window, and the
 * spent nonces in `nonceStore` (the job database's table, shared by every replica on it).
 *
 * @example
 * const verifier = createTttEngineAuthVerifier(config.engineAuthKeys, () => Date.now(), storage.nonces);
 */
export function createTttEngineAuthVerifier(
  keys: readonly EngineAuthKey[],
  now: () => number,
  nonceStore?: EngineAuthNonceStore,
): EngineAuthVerifier {
  return createEngineAuthVerifier({
    keys,
    now,
    ...(nonceStore ? { nonceStore } : {}),
    toleranceSec: ENGINE_AUTH_TOLERANCE_SEC,
    replayWindowSec: ENGINE_AUTH_REPLAY_WINDOW_SEC,
  });
}

/** A body the JSON parser did not capture; express.raw itself skips a stream that was already read. */
function hasUnreadBody(req: Request): boolean {
  if ((req as { rawBody?: Buffer }).rawBody !== undefined) return false;
  return hasBody(req);
}

/**
 * Verifies X-Engine-Auth v1 on a request (run as an operation's first `auth` middleware): the signed target is
 * `req.originalUrl` exactly as sent, the body its raw bytes, the bearer token the one in Authorization. A failure
 * becomes the verifier's catalog code with its details; a success records the nonce and sets
 * `res.locals.engineKeyId` (and the subject `engine:<kid>` until a service token names the user).
 *
 * A body the JSON parser skipped (another content type) is still read, within the same size limit, so the
 * signature is checked over the real bytes and the caller then learns `unsupported_media_type`, rather than
 * a signature mismatch that would send operators after the shared secret.
 *
 * @example
 * operations: { getJobStatus: { auth: engineAuth({ verifier, bodyLimitBytes }), handler: getJobStatus(deps) } }
 */
export function engineAuth(options: { verifier: EngineAuthVerifier; bodyLimitBytes: number }): RequestHandler {
  const { verifier } = options;
  const readRaw = express.raw({
    type: () => true,
    limit: options.bodyLimitBytes,
    verify: (req, _res, buf) => {
      (req as unknown as { rawBody: Buffer }).rawBody = buf;
    },
  });

  const check: RequestHandler = async (req, res, next) => {
    // One credential per request: the signature covers one header and one bearer token, never a choice of them.
    const engineAuthHeaders = headerCount(req, ENGINE_AUTH_HEADER);
    if (engineAuthHeaders > 1) {
      next(
        new ApiError(
          'invalid_engine_auth_header',
          `The request carries ${engineAuthHeaders} X-Engine-Auth headers; send exactly one.`,
          {
            details: { reason: 'several_values', problem: `${engineAuthHeaders} headers` },
          },
        ),
      );
      return;
    }
    let result;
    try {
      refuseSeveralAuthorizations(req, 'service_token');
      result = await verifier.verify({
        header: req.get(ENGINE_AUTH_HEADER),
        method: req.method,
        target: req.originalUrl,
        body: rawBody(req),
        bearerToken: bearerTokenFromAuthorization(req.get('authorization')),
      });
    } catch (error) {
      next(error); // a repeated Authorization header, or the nonce store failed (database lost: a retryable 503)
      return;
    }
    if (!result.ok) {
      next(new ApiError(result.code, result.message, { details: result.details }));
      return;
    }
    res.locals['engineKeyId'] = result.keyId;
    res.locals['subject'] = `engine:${result.keyId}`;
    next();
  };

  return (req, res, next) => {
    if (!hasUnreadBody(req)) {
      void check(req, res, next);
      return;
    }
    // Express's Request is an interface over http.IncomingMessage; at run time req is an IncomingMessage instance.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- see above
    readRaw(req, res, (error?: unknown) => {
      if (error) next(error);
      else void check(req, res, next);
    });
  };
}
