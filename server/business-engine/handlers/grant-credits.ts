import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { requestIdOf } from '../auth/caller.js';
import type { LedgerStore } from '../db/engine-store.js';
import { canonicalHash } from '../tokens/token-vendor.js';

type GrantRequest = components['schemas']['GrantRequest'];

/**
 * POST /admin/credits/grant: adds credits to a user's main or bonus bucket as a ledger entry (admin token); with a
 * `clientRequestId`, once (a repeat with the same body is answered with the first grant and `Idempotent-Replayed`).
 *
 * @example
 * operations.grantCredits = { auth: requireAdmin(authDeps), handler: grantCredits({ ledger }) };
 */
export function grantCredits(deps: { ledger: LedgerStore }): RequestHandler {
  return async (req, res) => {
    const body = req.body as GrantRequest;
    const bucket = body.bucket ?? 'main';
    // The key covers the grant as meant: the same user, amount, bucket (its default spelled out) and reason.
    const key = body.clientRequestId
      ? {
          clientRequestId: body.clientRequestId,
          bodyHash: canonicalHash({ userId: body.userId, amount: body.amount, bucket, reason: body.reason }),
        }
      : undefined;
    const { entry, balance, replayed } = await deps.ledger.grant(
      body.userId,
      body.amount,
      bucket,
      { reason: body.reason, requestId: requestIdOf(res) },
      key,
    );
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
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
