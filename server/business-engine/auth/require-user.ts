import type { RequestHandler } from 'express';
import { readBearerToken } from '../../shared/auth/bearer.js';
import { ApiError, isApiError } from '../../shared/errors/api-error.js';
import { describeCredential, setCredential } from '../../shared/observability/credential-context.js';
import type { AuthDeps } from './auth-deps.js';
import { classifyBearer, credentialMismatch, noteCredential } from './bearer-kind.js';
import { requestIdOf, setCaller, type Caller } from './caller.js';
import { authenticateIntegrationToken, isIntegrationTokenAttempt } from './integration-token-auth.js';

/** Which credentials besides a user JWT an operation takes. */
export interface RequireUserOptions {
  /** Accept an integration token (`yit_…`) acting for its user, with the token's scopes. */
  readonly integrationTokens?: boolean;
}

/**
 * Requires a valid user JWT (or, with `integrationTokens`, an integration token) carrying at least one of
 * `anyOfScopes` (none: any scope will do); an integration token's scopes are enforced exactly like a JWT's. A shared secret, admin token
 * or service token in its place is `credential_type_mismatch` (and so is an integration token where only a user
 * JWT is taken, e.g. managing integration tokens); a missing scope is `insufficient_scope`.
 *
 * @example
 * operations.vendToken = { auth: [requireUser(authDeps, ['ttt:transcribe'], { integrationTokens: true }), vendLimit], handler };
 */
export function requireUser(
  deps: AuthDeps,
  anyOfScopes: readonly string[],
  options: RequireUserOptions = {},
): RequestHandler {
  return async (req, res, next) => {
    const token = readBearerToken(req, 'user_jwt');
    const kind = classifyBearer(token, deps.adminToken);
    let caller: Extract<Caller, { kind: 'user' }>;
    if (options.integrationTokens && isIntegrationTokenAttempt(kind, token)) {
      noteCredential(res, kind, token, deps.now());
      caller = await authenticateIntegrationToken(deps, token, res);
    } else if (kind !== 'user_jwt' && kind !== 'opaque') {
      noteCredential(res, kind, token, deps.now());
      throw credentialMismatch(kind, 'user_jwt', {
        logger: deps.logger,
        tttKeys: deps.tttKeys,
        token,
        requestId: requestIdOf(res),
      });
    } else {
      const claims = await deps.verifyUserJwt(token).catch((error: unknown) => {
        // A refused token is described from its unverified claims, for the error log.
        noteCredential(res, kind, token, deps.now());
        throw kind === 'opaque' && options.integrationTokens ? neitherJwtNorIntegrationToken(error) : error;
      });
      setCredential(
        res,
        describeCredential(
          {
            kind: 'user_jwt',
            id: claims.jti ?? null,
            subject: claims.sub,
            issuedAtMs: claims.iat * 1000,
            expiresAtMs: claims.exp * 1000,
          },
          deps.now(),
        ),
      );
      caller = { kind: 'user', userId: claims.sub, scopes: claims.scopes };
      setCaller(res, caller);
    }
    if (anyOfScopes.length > 0 && !caller.scopes.some((scope) => anyOfScopes.includes(scope))) {
      const required = anyOfScopes.join("' or '");
      const via =
        caller.integrationTokenId === undefined
          ? {}
          : { credential: 'integration_token', tokenId: caller.integrationTokenId };
      throw new ApiError('insufficient_scope', `This operation needs the scope '${required}'.`, {
        details: {
          requiredScope: anyOfScopes[0],
          acceptedScopes: [...anyOfScopes],
          grantedScopes: [...caller.scopes],
          ...via,
        },
      });
    }
    next();
  };
}

/** The incident of a service sending its own "service secret" as a bearer: say what it should send instead. */
function neitherJwtNorIntegrationToken(error: unknown): unknown {
  if (!isApiError(error) || error.code !== 'invalid_token') return error;
  return new ApiError(
    'invalid_token',
    'The bearer value is neither a JWT nor an integration token (yit_…). A server-side caller needs an integration token from POST /v1/integrations/tokens.',
    { details: error.details, cause: error.cause },
  );
}
