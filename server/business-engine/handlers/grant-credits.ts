import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { requestIdOf } from '../auth/caller.js';
import type { LedgerStore } from '../db/engine-store.js';

type GrantRequest = components['schemas']['GrantRequest'];

/**
 * POST /admin/credits/grant: adds credits to a user's main or bonus bucket as a ledger entry (admin token).
 *
 * @example
 * operations.grantCredits = { auth: requireAdmin(authDeps), handler: grantCredits({ ledger }) };
 */
export function grantCredits(deps: { ledger: LedgerStore }): RequestHandler {
  return async (req, res) => {
    const body = req.body as GrantRequest;
    const { entry, balance } = await deps.ledger.grant(body.userId, body.amount, body.bucket ?? 'main', {
      reason: body.reason,
      requestId: requestIdOf(res),
    });
    const answer: components['schemas']['GrantResponse'] = {
      ok: true,
      userId: body.userId,
      entryId: entry.id,
      balance: balance.balance,
      main: balance.main,
      bonus: balance.bonus,
    };
    res.json(answer);
  };
}
