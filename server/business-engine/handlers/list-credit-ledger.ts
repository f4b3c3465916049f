import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import type { LedgerStore } from '../db/engine-store.js';
import { page, pageRequest } from '../http/page-cursor.js';

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
    const { limit, cursor } = pageRequest(req.query, /^ledger:(\d{1,15})$/);
    const beforeId = cursor && Number(cursor[1]);
    await deps.ledger.ensureUser(userId, requestIdOf(res));
    const { items: entries, nextCursor } = page(
      await deps.ledger.page(userId, limit + 1, beforeId),
      limit,
      (e) => `ledger:${e.id}`,
    );
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
      nextCursor,
    };
    res.json(body);
  };
}
