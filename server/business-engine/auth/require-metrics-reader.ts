import type { RequestHandler } from 'express';
import { readBearerToken } from '../../shared/auth/bearer.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { describeCredential, setCredential } from '../../shared/observability/credential-context.js';
import type { AuthDeps } from './auth-deps.js';
import { classifyBearer, credentialMismatch, noteCredential } from './bearer-kind.js';
import { requestIdOf, setCaller } from './caller.js';

/**
 * Requires ENGINE_METRICS_TOKEN (when configured) or ADMIN_TOKEN, both compared in constant time. The metrics
 * token is what a scraper should hold: it opens nothing but GET /metrics. A user JWT, service token, integration
 * token or shared secret is `credential_type_mismatch`; any other value is `invalid_token`.
 *
 * @example
 * operations.getMetrics = { auth: requireMetricsReader(authDeps), handler: getMetrics({ registry }) };
 */
export function requireMetricsReader(deps: AuthDeps): RequestHandler {
  return (req, res, next) => {
    const token = readBearerToken(req, 'metrics_token');
    if (deps.metricsToken !== undefined && deps.metricsToken.matches(token)) {
      setCredential(res, describeCredential({ kind: 'metrics_token' }, deps.now()));
      setCaller(res, { kind: 'metrics_reader' });
      next();
      return;
    }
    const kind = classifyBearer(token, deps.adminToken);
    noteCredential(res, kind, token, deps.now());
    if (kind === 'admin_token') {
      setCaller(res, { kind: 'admin' });
      next();
      return;
    }
    if (kind !== 'opaque') {
      throw credentialMismatch(kind, 'metrics_token', {
        logger: deps.logger,
        tttKeys: deps.tttKeys,
        token,
        requestId: requestIdOf(res),
      });
    }
    throw new ApiError('invalid_token', 'The metrics token does not match.', {
      details: { credential: 'metrics_token', reason: 'metrics_token_mismatch' },
    });
  };
}
