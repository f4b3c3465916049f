import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import type { LedgerStore } from '../db/engine-store.js';

/**
 * GET /v1/credits/balance: the caller's main and bonus credits (a user seen for the first time gets the signup
 * bonus, once).
 *
 * @example
 * operations.getCreditBalance = { auth: requireUser(authDeps, READ_SCOPES), handler: getCreditBalance({ ledger }) };
 */
export function getCreditBalance(deps: { ledger: LedgerStore }): RequestHandler {
  return async (_req, res) => {
    const { userId } = callerOf(res, 'user');
    const balance = await deps.ledger.ensureUser(userId, requestIdOf(res));
    const body: components['schemas']['Balance'] = {
      ok: true,
      userId,
      balance: balance.balance,
      main: balance.main,
      bonus: balance.bonus,
      updatedAt: new Date(balance.updatedAt).toISOString(),
    };
    res.json(body);
  };
}
