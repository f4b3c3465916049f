import { SignJWT } from 'jose';
import type { LocalEnv } from './local-env.js';

/** The scopes a dev user token carries by default: enough for every user operation of the engine. */
export const DEV_TOKEN_SCOPE = 'ttt:transcribe credits:read';
const MIN_SECRET_BYTES = 32;

export interface DevTokenInput {
  readonly sub: string;
  readonly ttlSec: number;
  readonly scope: string;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

export interface DevToken {
  readonly token: string;
  readonly sub: string;
  readonly scope: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * Why a dev token cannot be minted from the local settings, with what to do.
 *
 * @example
 * try { await mintDevToken(local, input); } catch (e) { if (e instanceof DevTokenError) io.err(e.message); }
 */
export class DevTokenError extends Error {
  override readonly name = 'DevTokenError';
}

/**
 * Mints an HS256 user JWT the way the local engine verifies it: signed with USER_JWT_SECRET's raw UTF-8 bytes
 * (never base64-decoded), with `sub`, `scope`, `iat`, `exp` and, when configured, `iss`/`aud`.
 * For development only: production user tokens come from the app's identity provider.
 *
 * @throws DevTokenError when USER_JWT_SECRET is missing or short, or the engine uses a JWKS instead.
 * @example
 * const { token } = await mintDevToken(loadLocalEnv(values, io), { sub: 'me', ttlSec: 900, scope: DEV_TOKEN_SCOPE });
 */
export async function mintDevToken(local: LocalEnv, input: DevTokenInput): Promise<DevToken> {
  if (local.get('USER_JWT_JWKS_URL')) {
    throw new DevTokenError(
      'USER_JWT_JWKS_URL is set: the engine verifies user tokens with that identity provider, ' +
        'so a token signed with USER_JWT_SECRET would be refused. Get a token from the identity provider instead.',
    );
  }
  const secret = local.get('USER_JWT_SECRET');
  if (secret === undefined) {
    throw new DevTokenError(
      `USER_JWT_SECRET is not set in the environment or in ${local.path}${local.fileFound ? '' : ' (no such file)'}. ` +
        'Run `npm start` once to create a .env, or pass --env-file.',
    );
  }
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new DevTokenError(
      `USER_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes.length}); the engine would refuse to start with it.`,
    );
  }
  if (!Number.isInteger(input.ttlSec) || input.ttlSec < 1 || input.ttlSec > 86_400) {
    throw new DevTokenError('--ttl must be a whole number of seconds between 1 and 86400.');
  }
  const issuedAt = Math.floor((input.now ?? Date.now)() / 1000);
  const expiresAt = issuedAt + input.ttlSec;
  let jwt = new SignJWT({ scope: input.scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt);
  const issuer = local.get('USER_JWT_ISSUER');
  const audience = local.get('USER_JWT_AUDIENCE');
  if (issuer) jwt = jwt.setIssuer(issuer);
  if (audience) jwt = jwt.setAudience(audience);
  const token = await jwt.sign(bytes);
  return { token, sub: input.sub, scope: input.scope, issuedAt, expiresAt };
}

/**
 * Parses a TTL such as `900`, `900s`, `15m` or `2h` into seconds.
 *
 * @example
 * parseTtl('15m'); // 900
 */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d{1,6})([smh]?)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1;
  return Number(m[1]) * unit;
}
