import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';

/** TEST-ONLY HS256 secret for user JWTs (raw UTF-8, 40 bytes). */
export const TEST_USER_JWT_SECRET = 'test-only-user-jwt-secret-0123456789abcd';

export interface UserJwtOptions {
  readonly sub?: string | null;
  /** Space-separated; `null` omits the claim. */
  readonly scope?: string | null;
  /** Seconds; default: now. `null` omits the claim. */
  readonly iat?: number | null;
  /** Seconds; default: iat + 900. `null` omits the claim. */
  readonly exp?: number | null;
  readonly nbf?: number;
  readonly iss?: string;
  readonly aud?: string;
  /** Clock in ms used for the defaults. */
  readonly nowMs?: number;
  /** Signing secret (raw UTF-8); default TEST_USER_JWT_SECRET. */
  readonly secret?: string;
  readonly typ?: string;
}

/**
 * Mints an HS256 user JWT as the app's identity provider would (`sub`, `scope`, `iat`, `exp`), with each claim
 * overridable or omittable for negative tests.
 *
 * @example
 * const jwt = await mintUserJwt({ sub: 'mobile-user-1', scope: 'ttt:transcribe' });
 */
export async function mintUserJwt(options: UserJwtOptions = {}): Promise<string> {
  const nowSec = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const iat = options.iat === undefined ? nowSec : options.iat;
  const exp = options.exp === undefined ? (iat ?? nowSec) + 900 : options.exp;
  const payload: JWTPayload = {};
  if (options.sub !== null) payload.sub = options.sub ?? 'mobile-user-1';
  if (options.scope !== null) payload['scope'] = options.scope ?? 'ttt:transcribe credits:read';
  if (iat !== null) payload.iat = iat;
  if (exp !== null) payload.exp = exp;
  if (options.nbf !== undefined) payload.nbf = options.nbf;
  if (options.iss !== undefined) payload.iss = options.iss;
  if (options.aud !== undefined) payload.aud = options.aud;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: options.typ ?? 'JWT' })
    .sign(new TextEncoder().encode(options.secret ?? TEST_USER_JWT_SECRET));
}

/**
 * An unsecured JWT (`alg: none`, empty signature) with user claims: must always be refused.
 *
 * @example
 * const token = unsecuredUserJwt({ sub: 'mobile-user-1', scope: 'ttt:transcribe' });
 */
export function unsecuredUserJwt(claims: Record<string, unknown>, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iat, exp: iat + 900, ...claims })}.`;
}

/**
 * A user JWT signed with a fresh asymmetric key (ES256 or RS256): refused where HS256 is configured.
 *
 * @example
 * const token = await asymmetricUserJwt('RS256', { sub: 'mobile-user-1', scope: 'ttt:transcribe' });
 */
export async function asymmetricUserJwt(
  alg: 'ES256' | 'RS256',
  claims: Record<string, unknown>,
  nowMs = Date.now(),
): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ iat, exp: iat + 900, ...claims }).setProtectedHeader({ alg, typ: 'JWT' }).sign(privateKey);
}
