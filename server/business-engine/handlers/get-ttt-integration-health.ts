import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { requestIdOf } from '../auth/caller.js';

/**
 * GET /health/ttt-integration: the integration checks' report (shared and kept a few seconds, see
 * cachedIntegrationCheck); 200 when all pass, 503 with the same body otherwise.
 *
 * @example
 * const check = cachedIntegrationCheck((requestId) => checkTttIntegration({ keys, upstream, now, requestId }), { now });
 * operations.getTttIntegrationHealth = { handler: getTttIntegrationHealth({ check }) };
 */
export function getTttIntegrationHealth(deps: {
  check: (requestId: string) => Promise<components['schemas']['IntegrationReport']>;
}): RequestHandler {
  return async (_req, res) => {
    const report = await deps.check(requestIdOf(res));
    res.status(report.ok ? 200 : 503).json(report);
  };
}
