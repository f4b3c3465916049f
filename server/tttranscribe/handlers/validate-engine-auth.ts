import type { RequestHandler } from 'express';
import type { components } from '../../../generated/tttranscribe/schema.js';

type EngineAuthValid = components['schemas']['EngineAuthValid'];

/**
 * POST /test/validate-engine-auth: answers 200 with the key id that verified. The header itself is checked by
 * the same `engineAuth` middleware as POST /transcribe (with `verify`, so the probe's nonce is spent like any
 * request's: the engine's integration check signs a fresh probe each time), so a failure is the very problem
 * /transcribe would give.
 *
 * @example
 * operations: { validateEngineAuth: { auth: engineAuth({ verifier, bodyLimitBytes }), handler: validateEngineAuth({ now }) } }
 */
export function validateEngineAuth(deps: { now: () => number }): RequestHandler {
  return (_req, res) => {
    const body: EngineAuthValid = {
      ok: true,
      valid: true,
      keyId: String(res.locals['engineKeyId']),
      serverTime: Math.floor(deps.now() / 1000),
    };
    res.json(body);
  };
}
