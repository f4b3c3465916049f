import type { RequestHandler } from 'express';
import type { ServiceTokenKeys } from '../tokens/service-token-keys.js';

/**
 * GET /.well-known/jwks.json: the public key that verifies service tokens (TTTranscribe fetches it).
 *
 * @example
 * operations.getJwks = { handler: getJwks({ serviceTokenKeys }) };
 */
export function getJwks(deps: { serviceTokenKeys: ServiceTokenKeys }): RequestHandler {
  return (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.serviceTokenKeys.jwks());
  };
}
