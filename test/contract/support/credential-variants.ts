/**
 * The credential matrix: every kind of credential a caller might send, each declaring which security schemes
 * of the specs it legitimately satisfies. An operation may answer 2xx only to a variant that satisfies one of
 * its security alternatives; every other variant (nothing, a user JWT where a service token belongs, a service
 * token where the admin token belongs, a metrics token anywhere but `getMetrics`, a real integration token where
 * only a user JWT is taken, another system's `yit_` token, the `tttsk_` shared secret as a bearer, a token for
 * another audience, an expired token) must get a 4xx.
 */
import { randomBytes } from 'node:crypto';
import {
  bearerTokenFromAuthorization,
  ENGINE_AUTH_HEADER,
  signEngineAuth,
  type EngineAuthKey,
} from '../../../server/protocol/engine-auth.js';
import { parseSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import type { AppliedCredentials } from './exchange.js';
import { targetOf, type RequestInput } from './request-inputs.js';

export interface CredentialVariant {
  name: string;
  /** The security schemes this credential really satisfies (e.g. `['userJwt']`). */
  grants: readonly string[];
  apply(input: RequestInput): Promise<AppliedCredentials>;
}

/** A `yit_` integration token of another system (incident 05): never a Pluct credential. */
export const INTEGRATION_TOKEN = `yit_${randomBytes(32).toString('base64url')}`;
/** Another X-Engine-Auth key than the services share. TEST-ONLY. */
export const FOREIGN_SECRET = 'tttsk_QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8';
const FOREIGN_KEY: EngineAuthKey = parseSharedSecret('FOREIGN', FOREIGN_SECRET);

function bearer(
  token: string | undefined,
  placeholder: string,
): { headers: Record<string, string>; placeholders: Record<string, string> } {
  if (token === undefined) return { headers: {}, placeholders: {} };
  return { headers: { authorization: `Bearer ${token}` }, placeholders: { authorization: `Bearer ${placeholder}` } };
}

/** A variant that sends a fixed (or freshly minted) bearer token and nothing else. */
export function bearerVariant(
  name: string,
  grants: readonly string[],
  token: (input: RequestInput) => Promise<string | undefined>,
  placeholder = `<${name}>`,
): CredentialVariant {
  return { name, grants, apply: async (input) => ({ name, ...bearer(await token(input), placeholder) }) };
}

export interface EngineCredentialSources {
  userJwt(): Promise<string>;
  /** A service token right for this input (fresh for a submission, the creating token for a status read). */
  serviceToken(input: RequestInput): Promise<string>;
  adminToken: string;
  /** ENGINE_METRICS_TOKEN: opens GET /metrics only. */
  metricsToken: string;
  /** A live `yit_` integration token of the user, created with POST /v1/integrations/tokens. */
  integrationToken: string;
  sharedSecret: string;
  userJwtOtherAudience(): Promise<string>;
  expiredUserJwt(): Promise<string>;
  serviceTokenOtherAudience(): Promise<string>;
  expiredServiceToken(): Promise<string>;
}

/**
 * The Business Engine's matrix (schemes userJwt, serviceToken, adminToken, metricsToken, integrationToken).
 *
 * @example
 * const variants = engineCredentialVariants({ userJwt: () => stack.userJwt(), ... });
 */
export function engineCredentialVariants(s: EngineCredentialSources): CredentialVariant[] {
  return [
    bearerVariant('no credentials', [], async () => undefined),
    bearerVariant('user JWT', ['userJwt'], () => s.userJwt()),
    bearerVariant('service token', ['serviceToken'], (input) => s.serviceToken(input)),
    // Before the admin token, so the metrics token is what a generated getMetrics request is sent with.
    bearerVariant('metrics token', ['metricsToken'], async () => s.metricsToken),
    bearerVariant('admin token', ['adminToken'], async () => s.adminToken),
    bearerVariant('integration token', ['integrationToken'], async () => s.integrationToken),
    bearerVariant('yit_ token of another system', [], async () => INTEGRATION_TOKEN),
    bearerVariant('tttsk_ shared secret', [], async () => s.sharedSecret),
    bearerVariant('user JWT for another audience', [], () => s.userJwtOtherAudience()),
    bearerVariant('expired user JWT', [], () => s.expiredUserJwt()),
    bearerVariant('service token for another audience', [], () => s.serviceTokenOtherAudience()),
    bearerVariant('expired service token', [], () => s.expiredServiceToken()),
  ];
}

export interface TttCredentialSources {
  keys: readonly EngineAuthKey[];
  now: () => number;
  sharedSecret: string;
  /** TTT_METRICS_TOKEN: opens GET /metrics only, as a bearer and without X-Engine-Auth. */
  metricsToken: string;
  serviceToken(): Promise<string>;
  userJwt(): Promise<string>;
  serviceTokenOtherAudience(): Promise<string>;
  expiredServiceToken(): Promise<string>;
}

/** Signs X-Engine-Auth v1 over the exact request (target, body bytes, bearer token), as the engine does. */
function signed(
  input: RequestInput,
  headers: Record<string, string>,
  keys: readonly EngineAuthKey[],
  now: () => number,
): string {
  return signEngineAuth({
    keys,
    method: input.method,
    target: targetOf(input),
    body: input.body,
    bearerToken: bearerTokenFromAuthorization(headers['authorization']),
    now,
  }).header;
}

/**
 * TTTranscribe's matrix (schemes engineAuth, serviceToken and metricsToken): X-Engine-Auth valid, missing,
 * signed with a foreign key or replaced by the raw shared secret, combined with the bearer kinds.
 *
 * @example
 * const variants = tttCredentialVariants({ keys: [TEST_KEY], now: () => ttt.clock.ms, ... });
 */
export function tttCredentialVariants(s: TttCredentialSources): CredentialVariant[] {
  const engineAuthPlaceholder = '<X-Engine-Auth v1 over this request, signed with TTT_SHARED_SECRET>';
  const make = (
    name: string,
    grants: string[],
    engineAuth: 'valid' | 'missing' | 'foreign' | 'raw_secret',
    token: () => Promise<string | undefined>,
    tokenName: string,
  ): CredentialVariant => ({
    name,
    grants,
    async apply(input) {
      const b = bearer(await token(), `<${tokenName}>`);
      const headers: Record<string, string> = { ...b.headers };
      const placeholders: Record<string, string> = { ...b.placeholders };
      const key = ENGINE_AUTH_HEADER.toLowerCase();
      if (engineAuth === 'valid') headers[key] = signed(input, headers, s.keys, s.now);
      if (engineAuth === 'foreign') headers[key] = signed(input, headers, [FOREIGN_KEY], s.now);
      if (engineAuth === 'raw_secret') headers[key] = s.sharedSecret;
      if (engineAuth !== 'missing')
        placeholders[key] = engineAuth === 'valid' ? engineAuthPlaceholder : `<${engineAuth} X-Engine-Auth>`;
      return { name, headers, placeholders };
    },
  });
  const none = async () => undefined;
  return [
    make('no credentials', [], 'missing', none, ''),
    make('service token without X-Engine-Auth', ['serviceToken'], 'missing', s.serviceToken, 'service token'),
    make('metrics token', ['metricsToken'], 'missing', async () => s.metricsToken, 'TTT_METRICS_TOKEN'),
    make('X-Engine-Auth + service token', ['engineAuth', 'serviceToken'], 'valid', s.serviceToken, 'service token'),
    make('X-Engine-Auth without a bearer', ['engineAuth'], 'valid', none, ''),
    make('X-Engine-Auth + user JWT', ['engineAuth'], 'valid', s.userJwt, 'user JWT'),
    make(
      'X-Engine-Auth + yit_ integration token',
      ['engineAuth'],
      'valid',
      async () => INTEGRATION_TOKEN,
      'yit_ token',
    ),
    make(
      'X-Engine-Auth + tttsk_ shared secret as bearer',
      ['engineAuth'],
      'valid',
      async () => s.sharedSecret,
      'TTT_SHARED_SECRET',
    ),
    make(
      'X-Engine-Auth + service token for another audience',
      ['engineAuth'],
      'valid',
      s.serviceTokenOtherAudience,
      'service token, aud business-engine',
    ),
    make(
      'X-Engine-Auth + expired service token',
      ['engineAuth'],
      'valid',
      s.expiredServiceToken,
      'expired service token',
    ),
    make(
      'X-Engine-Auth signed with a foreign key + service token',
      ['serviceToken'],
      'foreign',
      s.serviceToken,
      'service token',
    ),
    make(
      'raw shared secret as X-Engine-Auth + service token',
      ['serviceToken'],
      'raw_secret',
      s.serviceToken,
      'service token',
    ),
  ];
}
