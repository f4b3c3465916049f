import type { Response } from 'express';
import { describeCredential, setCredential } from '../../shared/observability/credential-context.js';
import type { AuthDeps } from './auth-deps.js';
import type { BearerKind } from './bearer-kind.js';
import { setCaller, type Caller } from './caller.js';

type UserCaller = Extract<Caller, { kind: 'user' }>;

/**
 * Whether a bearer value is to be judged as an integration token: it has the `yit_` prefix, or is no JWT and
 * starts with `yit` in another spelling (`YIT_…`, `yit-…`), which then fails as integration_token_malformed
 * with reason wrong_prefix rather than as a broken user JWT.
 *
 * @example
 * if (isIntegrationTokenAttempt(kind, token)) await authenticateIntegrationToken(deps, token, res);
 */
export function isIntegrationTokenAttempt(kind: BearerKind, token: string): boolean {
  return kind === 'integration_token' || (kind === 'opaque' && /^yit/i.test(token));
}

/**
 * Verifies an integration token and records the caller as its user (with the token's scopes and id). The log
 * context names the token's id, user, age and expiry as soon as the row is found, even if it is then refused
 * as revoked or expired.
 *
 * @example
 * const caller = await authenticateIntegrationToken(deps, token, res); // { kind: 'user', userId, scopes, integrationTokenId }
 */
export async function authenticateIntegrationToken(deps: AuthDeps, token: string, res: Response): Promise<UserCaller> {
  const record = await deps.integrationTokens.verify(token, (found) => {
    setCredential(
      res,
      describeCredential(
        {
          kind: 'integration_token',
          id: found.id,
          subject: found.userId,
          issuedAtMs: found.createdAt,
          expiresAtMs: found.expiresAt,
        },
        deps.now(),
      ),
    );
  });
  const caller: UserCaller = {
    kind: 'user',
    userId: record.userId,
    scopes: record.scopes,
    integrationTokenId: record.id,
  };
  setCaller(res, caller);
  return caller;
}
