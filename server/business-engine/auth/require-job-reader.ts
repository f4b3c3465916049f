import type { RequestHandler } from 'express';
import { readBearerToken } from '../../shared/auth/bearer.js';
import type { AuthDeps } from './auth-deps.js';
import { classifyBearer, credentialMismatch, noteCredential } from './bearer-kind.js';
import { requestIdOf, setCaller } from './caller.js';
import { authenticateIntegrationToken, isIntegrationTokenAttempt } from './integration-token-auth.js';

/**
 * Requires the owner's user JWT or integration token, or a service token this engine issued. A service token is
 * accepted here even after it expired or was refunded (signature and fixed claims still checked), so the app can
 * follow the job it paid for; which job it may read is the handler's decision.
 *
 * @example
 * operations.getTranscriptionStatus = { auth: requireJobReader(authDeps), handler };
 */
export function requireJobReader(deps: AuthDeps): RequestHandler {
  return async (req, res, next) => {
    const token = readBearerToken(req, 'user_jwt_or_service_token');
    const kind = classifyBearer(token, deps.adminToken);
    noteCredential(res, kind, token, deps.now());
    if (kind === 'service_token') {
      const claims = await deps.serviceTokenKeys.verify(token, { nowMs: deps.now(), ignoreExpiry: true });
      setCaller(res, { kind: 'service_token', userId: claims.sub, jti: claims.jti, token });
    } else if (isIntegrationTokenAttempt(kind, token)) {
      await authenticateIntegrationToken(deps, token, res);
    } else if (kind === 'user_jwt' || kind === 'opaque') {
      const claims = await deps.verifyUserJwt(token);
      setCaller(res, { kind: 'user', userId: claims.sub, scopes: claims.scopes });
    } else {
      throw credentialMismatch(kind, 'user_jwt_or_service_token', {
        logger: deps.logger,
        tttKeys: deps.tttKeys,
        token,
        requestId: requestIdOf(res),
      });
    }
    next();
  };
}
