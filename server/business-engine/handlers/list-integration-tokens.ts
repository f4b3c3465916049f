import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { callerOf } from '../auth/caller.js';
import { integrationTokenBody } from '../integrations/integration-token-body.js';
import type { IntegrationTokenRecords } from '../db/engine-store.js';

/**
 * GET /v1/integrations/tokens: the caller's integration tokens, newest first, revoked and expired ones included;
 * never a token's value (only its hash is stored).
 *
 * @example
 * operations.listIntegrationTokens = { auth: requireUser(authDeps, []), handler: listIntegrationTokens({ store }) };
 */
export function listIntegrationTokens(deps: { store: IntegrationTokenRecords }): RequestHandler {
  return async (_req, res) => {
    const { userId } = callerOf(res, 'user');
    const body: components['schemas']['IntegrationTokenList'] = { ok: true, tokens: (await deps.store.listByUser(userId)).map(integrationTokenBody) };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  };
}
