import type { RequestHandler } from 'express';
import { readBearerToken } from '../../shared/auth/bearer.js';
import { ApiError } from '../../shared/errors/api-error.js';
import type { AuthDeps } from './auth-deps.js';
import { classifyBearer, credentialMismatch } from './bearer-kind.js';
import { requestIdOf, setCaller } from './caller.js';

/**
 * Requires a valid user JWT carrying at least one of `anyOfScopes`. A shared secret, integration token, admin
 * token or service token in its place is `credential_type_mismatch`; a missing scope is `insufficient_scope`.
 *
 * @example
 * operations.vendToken = { auth: [requireUser(authDeps, ['ttt:transcribe']), vendLimit], handler: vendToken(deps) };
 */
export function requireUser(deps: AuthDeps, anyOfScopes: readonly string[]): RequestHandler {
  return async (req, res, next) => {
    const token = readBearerToken(req, 'user_jwt');
    const kind = classifyBearer(token, deps.adminToken);
    if (kind !== 'user_jwt' && kind !== 'opaque') {
      throw credentialMismatch(kind, 'user_jwt', { logger: deps.logger, tttKeys: deps.tttKeys, token, requestId: requestIdOf(res) });
    }
    const claims = await deps.verifyUserJwt(token);
    setCaller(res, { kind: 'user', userId: claims.sub, scopes: claims.scopes });
    if (!claims.scopes.some((scope) => anyOfScopes.includes(scope))) {
      const required = anyOfScopes.join("' or '");
      throw new ApiError('insufficient_scope', `This operation needs the scope '${required}'.`, {
        details: { requiredScope: anyOfScopes[0], acceptedScopes: [...anyOfScopes], grantedScopes: [...claims.scopes] },
      });
    }
    next();
  };
}
