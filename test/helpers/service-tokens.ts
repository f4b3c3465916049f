import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { SERVICE_TOKEN } from '../../server/protocol/service-token.js';

/** Service tokens as the Business Engine vends them: the one contract, re-exported for tests. TEST-ONLY keys below. */
export { SERVICE_TOKEN };

export interface MintOptions {
  readonly sub?: string;
  readonly scope?: string;
  readonly jti?: string;
  /** Issued-at in unix seconds (default: the issuer's clock). */
  readonly iat?: number;
  /** Expiry in unix seconds (default iat + 900). */
  readonly exp?: number;
  readonly nbf?: number;
  readonly iss?: string;
  readonly aud?: string | string[];
  /** Header `typ` (default ttt-service+jwt). */
  readonly typ?: string;
  /** Header `kid` (default the issuer's). */
  readonly kid?: string;
  /** Claims to leave out, e.g. `['sub']`. */
  readonly omit?: readonly string[];
  /** Extra or overriding claims (any JSON value). */
  readonly claims?: Record<string, unknown>;
}

/** An ES256 key pair and its JWKS, minting service tokens exactly as the engine does. */
export interface ServiceTokenIssuer {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** `{ keys: [publicJwk] }`, what the engine serves at /.well-known/jwks.json. */
  readonly jwks: JSONWebKeySet;
  /** A jose key resolver over `jwks` (for createApp's serviceTokenKeys). */
  readonly getKey: JWTVerifyGetKey;
  /** Signs a service token; options bend it into the invalid shapes tests need. */
  mint(options?: MintOptions): Promise<string>;
}

/**
 * Creates a TEST-ONLY service-token issuer: a fresh P-256 key pair, header `{ alg: 'ES256', typ: 'ttt-service+jwt',
 * kid }`, claims iss business-engine, aud tttranscribe, sub, scope ttt:transcribe, a random jti, iat and
 * exp = iat + 900.
 *
 * @example
 * const issuer = await createServiceTokenIssuer({ now: () => clock.ms });
 * const token = await issuer.mint({ sub: 'user-1' });
 * const expired = await issuer.mint({ iat: nowSec - 2000, exp: nowSec - 1100 });
 */
export async function createServiceTokenIssuer(
  options: { kid?: string; now?: () => number } = {},
): Promise<ServiceTokenIssuer> {
  const kid = options.kid ?? `st-${randomUUID().slice(0, 8)}`;
  const now = options.now ?? Date.now;
  const { privateKey, publicKey } = await generateKeyPair(SERVICE_TOKEN.alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: SERVICE_TOKEN.alg, use: 'sig' };
  const jwks: JSONWebKeySet = { keys: [publicJwk] };
  return {
    kid,
    privateKey,
    publicJwk,
    jwks,
    getKey: createLocalJWKSet(jwks),
    mint: (mintOptions = {}) => mintServiceToken(privateKey, { kid, now, ...mintOptions }),
  };
}

/**
 * Signs a service token with any ES256 private key (e.g. a key the server does not trust, for signature tests).
 *
 * @example
 * const forged = await mintServiceToken(otherIssuer.privateKey, { kid: issuer.kid, now: () => clock.ms });
 */
export async function mintServiceToken(
  privateKey: CryptoKey,
  options: MintOptions & { kid: string; now?: () => number },
): Promise<string> {
  const iat = options.iat ?? Math.floor((options.now ?? Date.now)() / 1000);
  const payload: Record<string, unknown> = {
    iss: options.iss ?? SERVICE_TOKEN.issuer,
    aud: options.aud ?? SERVICE_TOKEN.audience,
    sub: options.sub ?? 'user-test-1',
    scope: options.scope ?? SERVICE_TOKEN.scope,
    jti: options.jti ?? randomUUID(),
    iat,
    exp: options.exp ?? iat + SERVICE_TOKEN.lifetimeSec,
    ...(options.nbf !== undefined ? { nbf: options.nbf } : {}),
    ...options.claims,
  };
  for (const claim of options.omit ?? []) Reflect.deleteProperty(payload, claim);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: SERVICE_TOKEN.alg, typ: options.typ ?? SERVICE_TOKEN.typ, kid: options.kid })
    .sign(privateKey);
}

/**
 * An unsigned token (`alg: none`) with service-token claims: must always be refused.
 *
 * @example
 * const none = unsignedServiceToken({ sub: 'user-1' }, nowSec);
 */
export function unsignedServiceToken(claims: Record<string, unknown>, iat: number): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = {
    iss: SERVICE_TOKEN.issuer,
    aud: SERVICE_TOKEN.audience,
    sub: 'user-test-1',
    scope: SERVICE_TOKEN.scope,
    jti: randomUUID(),
    iat,
    exp: iat + 900,
    ...claims,
  };
  return `${part({ alg: 'none', typ: SERVICE_TOKEN.typ })}.${part(payload)}.`;
}

/**
 * An HS256 token with service-token claims, as a user JWT or a secret-signed token would be: must be refused.
 *
 * @example
 * const hs = await hs256ServiceToken('a-user-jwt-secret-of-at-least-32-bytes!!', nowSec);
 */
export async function hs256ServiceToken(secret: string, iat: number): Promise<string> {
  return new SignJWT({
    iss: SERVICE_TOKEN.issuer,
    aud: SERVICE_TOKEN.audience,
    sub: 'user-test-1',
    scope: SERVICE_TOKEN.scope,
    jti: randomUUID(),
    iat,
    exp: iat + 900,
  })
    .setProtectedHeader({ alg: 'HS256', typ: SERVICE_TOKEN.typ })
    .sign(new TextEncoder().encode(secret));
}
