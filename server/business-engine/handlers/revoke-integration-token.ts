import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import type { IntegrationTokenRecords } from '../db/engine-store.js';

/**
 * DELETE /v1/integrations/tokens/{tokenId}: revokes one of the caller's tokens at once (the next request with it
 * is `integration_token_revoked`); 204 also when it was already revoked. Another user's token is
 * `integration_token_not_found`, as if it did not exist.
 *
 * @example
 * operations.revokeIntegrationToken = { auth: requireUser(authDeps, []), handler: revokeIntegrationToken({ store, logger }) };
 */
export function revokeIntegrationToken(deps: { store: IntegrationTokenRecords; logger: Logger }): RequestHandler {
  return async (req, res) => {
    const { userId } = callerOf(res, 'user');
    const tokenId = String(req.params['tokenId']);
    const outcome = await deps.store.revoke(userId, tokenId);
    if (outcome === 'not_found') {
      throw new ApiError('integration_token_not_found', `No integration token ${tokenId} belongs to this user.`, {
        details: { tokenId },
      });
    }
    if (outcome === 'revoked')
      deps.logger.info({ requestId: requestIdOf(res), tokenId, userId }, 'integration token revoked');
    res.status(204).end();
  };
}
