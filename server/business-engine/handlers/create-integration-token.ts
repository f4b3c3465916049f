import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { components } from '../../../generated/business-engine/schema.js';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf, requestIdOf } from '../auth/caller.js';
import { integrationTokenBody } from '../integrations/integration-token-body.js';
import type { IntegrationTokenRecords } from '../db/engine-store.js';

type IntegrationTokenRequest = components['schemas']['IntegrationTokenRequest'];
type IntegrationTokenCreated = components['schemas']['IntegrationTokenCreated'];

/**
 * POST /v1/integrations/tokens: creates an integration token for the user of the user JWT and shows it once
 * (201, Cache-Control: no-store). Its scopes must be among the JWT's (a token never gains scopes); the expiry is
 * relative (`expiresInSec`), so a caller's skewed clock cannot shorten or stretch it.
 *
 * @example
 * operations.createIntegrationToken = { auth: requireUser(authDeps, []), handler: createIntegrationToken({ store, now, logger }) };
 */
export function createIntegrationToken(deps: {
  store: IntegrationTokenRecords;
  now: () => number;
  logger: Logger;
}): RequestHandler {
  return async (req, res) => {
    const caller = callerOf(res, 'user');
    const body = req.body as IntegrationTokenRequest;
    const beyond = body.scopes.filter((scope) => !caller.scopes.includes(scope));
    if (beyond.length > 0) {
      throw new ApiError(
        'insufficient_scope',
        `An integration token cannot carry a scope the user JWT lacks: '${beyond.join("', '")}'.`,
        {
          details: { requiredScope: beyond[0], requestedScopes: [...body.scopes], grantedScopes: [...caller.scopes] },
        },
      );
    }
    const expiresAt = body.expiresInSec === undefined ? null : deps.now() + body.expiresInSec * 1000;
    const { token, record } = await deps.store.create({
      userId: caller.userId,
      description: body.description,
      scopes: body.scopes,
      expiresAt,
    });
    deps.logger.info(
      {
        requestId: requestIdOf(res),
        tokenId: record.id,
        userId: caller.userId,
        scopes: record.scopes,
        expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      },
      'integration token created',
    );
    const answer: IntegrationTokenCreated = { ok: true, token, ...integrationTokenBody(record) };
    res.status(201).setHeader('Cache-Control', 'no-store');
    res.json(answer);
  };
}
