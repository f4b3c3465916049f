import type { RequestHandler } from 'express';
import { redactedConfig } from '../admin/redacted-config.js';
import type { EngineConfig } from '../config.js';

/**
 * GET /admin/config: the running configuration with every secret redacted to its status and key id.
 *
 * @example
 * operations.getAdminConfig = { auth: requireAdmin(authDeps), handler: getAdminConfig({ config }) };
 */
export function getAdminConfig(deps: { config: EngineConfig }): RequestHandler {
  const body = redactedConfig(deps.config);
  return (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  };
}
