import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { callerOf } from '../auth/caller.js';
import { integrationTokenBody } from '../integrations/integration-token-body.js';
import type { IntegrationTokenRecords } from '../db/engine-store.js';
import { page, pageRequest } from '../http/page-cursor.js';

/**
 * GET /v1/integrations/tokens: a page of the caller's integration tokens, newest first, revoked and expired ones
 * included; never a token's value (only its hash is stored). The cursor is opaque (base64url of the last token's
 * creation time and id); `nextCursor` is null on the last page.
 *
 * @example
 * operations.listIntegrationTokens = { auth: requireUser(authDeps, []), handler: listIntegrationTokens({ store }) };
 */
export function listIntegrationTokens(deps: { store: IntegrationTokenRecords }): RequestHandler {
  return async (req, res) => {
    const { userId } = callerOf(res, 'user');
    const { limit, cursor } = pageRequest(req.query, /^itk:(\d{1,15}):(itk_[0-9A-Z]{26})$/);
    const after = cursor && { createdAt: Number(cursor[1]), id: cursor[2] as string };
    const { items: tokens, nextCursor } = page(
      await deps.store.listByUser(userId, { limit: limit + 1, ...(after ? { after } : {}) }),
      limit,
      (t) => `itk:${t.createdAt}:${t.id}`,
    );
    const body: components['schemas']['IntegrationTokenList'] = {
      ok: true,
      tokens: tokens.map(integrationTokenBody),
      nextCursor,
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  };
}
