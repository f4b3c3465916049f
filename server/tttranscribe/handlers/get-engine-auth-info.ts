import type { RequestHandler } from 'express';
import type { components } from '../../../generated/tttranscribe/schema.js';
import type { EngineAuthVerifier } from '../auth/engine-auth-verifier.js';
import { ENGINE_AUTH_REPLAY_WINDOW_SEC, ENGINE_AUTH_TOLERANCE_SEC } from '../auth/engine-auth-middleware.js';

type EngineAuthInfo = components['schemas']['EngineAuthInfo'];

/**
 * GET /.well-known/engine-auth: the X-Engine-Auth version, the key ids accepted (never keys), the tolerance,
 * the replay window and the server's clock, so a signer can compare its key id and clock before sending jobs.
 *
 * @example
 * operations: { getEngineAuthInfo: { handler: getEngineAuthInfo({ verifier, now }) } }
 */
export function getEngineAuthInfo(deps: { verifier: EngineAuthVerifier; now: () => number }): RequestHandler {
  return (_req, res) => {
    const body: EngineAuthInfo = {
      ok: true,
      version: 'v1',
      acceptedKeyIds: [...deps.verifier.acceptedKeyIds],
      toleranceSec: ENGINE_AUTH_TOLERANCE_SEC,
      replayWindowSec: ENGINE_AUTH_REPLAY_WINDOW_SEC,
      serverTime: Math.floor(deps.now() / 1000),
    };
    res.json(body);
  };
}
