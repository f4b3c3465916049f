import type { Request } from 'express';
import { ApiError } from '../errors/api-error.js';
import { headerCount } from './raw-headers.js';
import { SHARED_SECRET_PREFIX } from '../../protocol/engine-auth-secret.js';
import { COMPACT_JWS } from './unverified-jwt.js';

/** The kinds of credential an operation can name, as they appear in problem details. */
export type ExpectedCredential =
  'user_jwt' | 'service_token' | 'admin_token' | 'user_jwt_or_service_token' | 'metrics_token';

/** What a bearer value looks like, judged from its form alone (no verification). */
export type CredentialShape = 'jwt' | 'shared_secret' | 'integration_token' | 'opaque';

/**
 * Tells a bearer value's kind from its form, so a credential of the wrong kind gets a precise answer
 * (a `tttsk_` shared secret sent as a token is a leak; a `yit_` integration token belongs elsewhere).
 *
 * @example
 * credentialShape('tttsk_AAAA…'); // 'shared_secret'
 */
export function credentialShape(token: string): CredentialShape {
  if (token.startsWith(SHARED_SECRET_PREFIX)) return 'shared_secret';
  if (token.startsWith('yit_')) return 'integration_token';
  if (COMPACT_JWS.test(token) && token.startsWith('eyJ')) return 'jwt';
  return 'opaque';
}

/**
 * Refuses a request that sends more than one `Authorization` header (`malformed_authorization`, reason
 * `several_values`), counted on the raw headers: one credential per request, whichever value a proxy would read.
 *
 * @example
 * refuseSeveralAuthorizations(req, 'service_token');
 */
export function refuseSeveralAuthorizations(req: Pick<Request, 'rawHeaders'>, expected: ExpectedCredential): void {
  const count = headerCount(req, 'authorization');
  if (count > 1) {
    throw new ApiError(
      'malformed_authorization',
      `The request carries ${count} Authorization headers; send exactly one.`,
      {
        details: { reason: 'several_values', expected },
      },
    );
  }
}

/**
 * Reads `Authorization: Bearer <token>` or throws the catalog error that says what is wrong with it
 * (`missing_authorization` or `malformed_authorization`, naming the expected credential). Several
 * Authorization headers are refused (reason `several_values`), never read as the first.
 *
 * @example
 * const token = readBearerToken(req, 'user_jwt');
 */
export function readBearerToken(req: Request, expected: ExpectedCredential): string {
  refuseSeveralAuthorizations(req, expected);
  const header = req.headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new ApiError(
      'missing_authorization',
      `This operation needs ${describe(expected)} in the Authorization header.`,
      {
        details: { expected },
      },
    );
  }
  const match = /^Bearer ([^\s,]+)$/i.exec(header.trim());
  if (!match?.[1]) {
    const scheme = header.trim().split(/\s+/)[0] ?? '';
    const reason = /^bearer$/i.test(scheme) ? 'token_missing_or_has_spaces' : 'scheme_not_bearer';
    throw new ApiError('malformed_authorization', "The Authorization header must be 'Bearer <token>'.", {
      details: { reason, expected },
    });
  }
  return match[1];
}

/** A sentence naming a credential kind, for error details. */
export function describe(expected: ExpectedCredential): string {
  switch (expected) {
    case 'user_jwt':
      return 'a user JWT';
    case 'service_token':
      return 'a service token from POST /v1/vend-token';
    case 'admin_token':
      return 'the admin token';
    case 'user_jwt_or_service_token':
      return "the owner's user JWT or the service token that created the job";
    case 'metrics_token':
      return 'the metrics token';
  }
}
