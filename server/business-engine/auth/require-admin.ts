import type { RequestHandler } from 'express';
import { readBearerToken } from '../../shared/auth/bearer.js';
import { ApiError } from '../../shared/errors/api-error.js';
import type { AuthDeps } from './auth-deps.js';
import { classifyBearer, credentialMismatch, noteCredential } from './bearer-kind.js';
import { requestIdOf, setCaller } from './caller.js';

/**
 * Requires ADMIN_TOKEN (compared in constant time). A user JWT, service token, shared secret or integration
 * token is `credential_type_mismatch`; any other value is `invalid_token`.
 *
 * @example
 * operations.getAdminConfig = { auth: requireAdmin(authDeps), handler };
 */
export function requireAdmin(deps: AuthDeps): RequestHandler {
  return (req, res, next) => {
    const token = readBearerToken(req, 'admin_token');
    if (deps.adminToken.matches(token)) {
      noteCredential(res, 'admin_token', token, deps.now());
      setCaller(res, { kind: 'admin' });
      next();
      return;
    }
    const kind = classifyBearer(token, deps.adminToken);
    noteCredential(res, kind, token, deps.now());
    if (kind !== 'opaque' && kind !== 'admin_token') {
      throw credentialMismatch(kind, 'admin_token', {
        logger: deps.logger,
        tttKeys: deps.tttKeys,
        token,
        requestId: requestIdOf(res),
      });
    }
    throw new ApiError('invalid_token', 'The admin token does not match.', {
      details: { credential: 'admin_token', reason: 'admin_token_mismatch' },
    });
  };
}
