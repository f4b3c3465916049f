import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import type { TokenVendor } from '../tokens/token-vendor.js';

type VendTokenRequest = components['schemas']['VendTokenRequest'];

/**
 * POST /v1/vend-token: charges 1 credit and returns a service token; `clientRequestId` makes it idempotent
 * (a replay carries `Idempotent-Replayed: true`).
 *
 * @example
 * operations.vendToken = { auth: [requireUser(authDeps, ['ttt:transcribe']), vendLimit], handler: vendToken({ vendor }) };
 */
export function vendToken(deps: { vendor: TokenVendor }): RequestHandler {
  return async (req, res) => {
    const { userId } = callerOf(res, 'user');
    const body = req.body as VendTokenRequest;
    if (body.userId !== undefined && body.userId !== userId) {
      throw new ApiError('user_mismatch', "The body's userId does not match the token's subject.", {
        details: { tokenSubject: userId, bodyUserId: body.userId },
      });
    }
    const { response, replayed } = await deps.vendor.vend({
      userId,
      clientRequestId: body.clientRequestId,
      body: { clientRequestId: body.clientRequestId, ...(body.userId === undefined ? {} : { userId: body.userId }) },
      requestId: requestIdOf(res),
    });
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Cache-Control', 'no-store');
    res.json(response);
  };
}
