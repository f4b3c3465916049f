import type { RequestHandler } from 'express';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import { requestIdOf } from '../auth/caller.js';
import { checkTttIntegration } from '../health/integration-check.js';
import type { TttUpstream } from '../upstream/ttt-upstream.js';

/**
 * GET /health/ttt-integration: runs the integration checks; 200 when all pass, 503 with the same body otherwise.
 *
 * @example
 * operations.getTttIntegrationHealth = { handler: getTttIntegrationHealth({ keys, upstream, now }) };
 */
export function getTttIntegrationHealth(deps: { keys: readonly EngineAuthKey[]; upstream: TttUpstream; now: () => number }): RequestHandler {
  return async (_req, res) => {
    const report = await checkTttIntegration({ ...deps, requestId: requestIdOf(res) });
    res.status(report.ok ? 200 : 503).json(report);
  };
}
