import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import type { BuildInfo } from '../build-info.js';

/**
 * GET /health: liveness with version and build information; no credentials.
 *
 * @example
 * operations.getHealth = { handler: getHealth({ build, startedAt: Date.now(), now: Date.now }) };
 */
export function getHealth(deps: { build: BuildInfo; startedAt: number; now: () => number }): RequestHandler {
  return (_req, res) => {
    const now = deps.now();
    const body: components['schemas']['EngineHealth'] = {
      ok: true,
      service: 'business-engine',
      build: deps.build,
      uptimeSec: Math.max(0, Math.round((now - deps.startedAt) / 1000)),
      serverTime: new Date(now).toISOString(),
    };
    res.json(body);
  };
}
