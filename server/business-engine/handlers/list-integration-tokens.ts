import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf } from '../auth/caller.js';
import { integrationTokenBody } from '../integrations/integration-token-body.js';
import type { IntegrationTokenRecords } from '../db/engine-store.js';
import type { IntegrationTokenPosition } from '../integrations/integration-token-store.js';

/** Tokens per page when the caller gives no `limit` (the spec's default; its maximum is 100). */
export const DEFAULT_TOKEN_PAGE = 50;

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
    // The request validator has checked limit (1-100) and the cursor's length against the spec: both are strings
    // (a repeated parameter is refused).
    const query = req.query as { limit?: string; cursor?: string };
    const limit = query.limit === undefined ? DEFAULT_TOKEN_PAGE : Number(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await deps.store.listByUser(userId, { limit: limit + 1, ...(after ? { after } : {}) });
    const tokens = rows.slice(0, limit);
    const last = tokens.at(-1);
    const body: components['schemas']['IntegrationTokenList'] = {
      ok: true,
      tokens: tokens.map(integrationTokenBody),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  };
}

function encodeCursor(position: IntegrationTokenPosition): string {
  return Buffer.from(`itk:${position.createdAt}:${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): IntegrationTokenPosition {
  const match = /^itk:(\d{1,15}):(itk_[0-9A-Z]{26})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) {
    throw new ApiError('invalid_request', '/query/cursor: is not a cursor this service issued.', {
      details: { errors: [{ pointer: '/query/cursor', message: 'must be the nextCursor of a previous page' }] },
    });
  }
  return { createdAt: Number(match[1]), id: match[2] };
}
