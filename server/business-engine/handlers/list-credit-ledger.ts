import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import type { LedgerStore } from '../db/engine-store.js';

type LedgerPage = components['schemas']['LedgerPage'];

/**
 * GET /v1/credits/ledger: the caller's grants, charges and refunds, newest first. The cursor is opaque
 * (base64url of the last entry id seen).
 *
 * @example
 * operations.listCreditLedger = { auth: requireUser(authDeps, READ_SCOPES), handler: listCreditLedger({ ledger }) };
 */
export function listCreditLedger(deps: { ledger: LedgerStore }): RequestHandler {
  return async (req, res) => {
    const { userId } = callerOf(res, 'user');
    // The request validator has checked both against the spec: strings (a repeated parameter is refused).
    const query = req.query as { limit?: string; cursor?: string };
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    await deps.ledger.ensureUser(userId, requestIdOf(res));
    const rows = await deps.ledger.page(userId, limit + 1, beforeId);
    const entries = rows.slice(0, limit);
    const last = entries.at(-1);
    const body: LedgerPage = {
      ok: true,
      userId,
      entries: entries.map((e) => ({
        id: e.id,
        kind: e.kind,
        bucket: e.bucket,
        amount: e.amount,
        balanceAfter: e.balanceAfter,
        reason: e.reason,
        requestId: e.requestId,
        jobId: e.jobId,
        tokenId: e.tokenId,
        createdAt: new Date(e.createdAt).toISOString(),
      })),
      nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
    };
    res.json(body);
  };
}

/** The opaque cursor for entries older than `id`. */
function encodeCursor(id: number): string {
  return Buffer.from(`ledger:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^ledger:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1]) {
    throw new ApiError('invalid_request', '/query/cursor: is not a cursor this service issued.', {
      details: { errors: [{ pointer: '/query/cursor', message: 'must be the nextCursor of a previous page' }] },
    });
  }
  return Number(match[1]);
}
