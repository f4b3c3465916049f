import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { z } from 'zod';

/** The scopes a sandbox user token carries by default: every user operation of the engine. */
export const SANDBOX_USER_SCOPE = 'ttt:transcribe credits:read';
const CLAIMS = ['sub', 'scope', 'iat', 'exp', 'jti'] as const;

/** The body of `POST /sandbox/tokens`. */
export const tokenRequestSchema = z
  .object({
    sub: z.string().min(1).max(128).default('sandbox-user'),
    scope: z.string().max(500).default(SANDBOX_USER_SCOPE),
    /** Seconds from now; negative mints an expired token. */
    expiresInSec: z
      .number()
      .int()
      .min(-86_400)
      .max(30 * 86_400)
      .default(3600),
    /** Seconds from now before which the token is not valid (`nbf`). */
    notBeforeInSec: z.number().int().min(0).max(86_400).optional(),
    /** Claims to leave out, to see `invalid_token_claims`. */
    omit: z.array(z.enum(CLAIMS)).default([]),
  })
  .strict();
export type TokenRequest = z.input<typeof tokenRequestSchema>;

/**
 * Mints a user JWT the sandbox's engine accepts (HS256 with the run's in-memory USER_JWT_SECRET), as an app's
 * identity provider would; every claim can be changed or left out to reach the credential errors.
 *
 * @example
 * const { token } = await mintSandboxUserJwt(secret, { sub: 'alice' }, Date.now());
 */
export async function mintSandboxUserJwt(
  secret: string,
  request: TokenRequest,
  nowMs: number,
): Promise<{ token: string; sub: string; expiresAt: string }> {
  const r = tokenRequestSchema.parse(request);
  const nowSec = Math.floor(nowMs / 1000);
  const exp = nowSec + r.expiresInSec;
  // An expired token was issued a while before it expired, as a real one would be.
  const iat = Math.min(nowSec, exp - 900);
  const claims: JWTPayload = { sub: r.sub, scope: r.scope, iat, exp, jti: randomUUID() };
  if (r.notBeforeInSec !== undefined) claims.nbf = iat + r.notBeforeInSec;
  for (const name of r.omit) Reflect.deleteProperty(claims, name);
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
  return { token, sub: r.sub, expiresAt: new Date(exp * 1000).toISOString() };
}
