import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { ENGINE_AUTH_HEADER, signEngineAuth, type EngineAuthKey } from '../../server/protocol/engine-auth.js';
import type { HttpRequestSpec } from './closed-load.js';

/** Throw-away secrets for one bench run: generated fresh, held in memory, passed to the services by env only. */
export interface BenchCredentials {
  readonly sharedSecret: string;
  readonly engineAuthKey: EngineAuthKey;
  /** SERVICE_TOKEN_PRIVATE_KEY for the engine (single-line JWK JSON with kid). */
  readonly servicePrivateJwkJson: string;
  /** The public JWK Set TTTranscribe verifies service tokens with. */
  readonly serviceJwks: { keys: JWK[] };
  readonly serviceKid: string;
  readonly servicePrivateKey: CryptoKey;
  /** USER_JWT_SECRET (HS256, raw UTF-8 bytes). */
  readonly userJwtSecret: string;
  readonly adminToken: string;
}

/**
 * Generates every secret the stack needs. Nothing is written to disk except the public JWKS.
 *
 * @example
 * const creds = await createBenchCredentials();
 */
export async function createBenchCredentials(): Promise<BenchCredentials> {
  const sharedSecret = generateSharedSecret();
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const serviceKid = `bench-${randomBytes(4).toString('hex')}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid: serviceKid, alg: 'ES256' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid: serviceKid, alg: 'ES256', use: 'sig' };
  return {
    sharedSecret,
    engineAuthKey: parseSharedSecret('TTT_SHARED_SECRET', sharedSecret),
    servicePrivateJwkJson: JSON.stringify(privateJwk),
    serviceJwks: { keys: [publicJwk] },
    serviceKid,
    servicePrivateKey: privateKey,
    userJwtSecret: randomBytes(48).toString('base64url'),
    adminToken: randomBytes(32).toString('base64url'),
  };
}

/**
 * A service token exactly as the engine vends it (ES256, typ ttt-service+jwt, iss/aud/scope, fresh jti, 15 min),
 * for calling TTTranscribe directly.
 *
 * @example
 * const token = await signServiceToken(creds, 'bench-user-1');
 */
export function signServiceToken(creds: BenchCredentials, sub: string, nowMs = Date.now()): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ scope: 'ttt:transcribe' })
    .setProtectedHeader({ alg: 'ES256', typ: 'ttt-service+jwt', kid: creds.serviceKid })
    .setIssuer('business-engine')
    .setAudience('tttranscribe')
    .setSubject(sub)
    .setJti(`tok_bench_${randomUUID()}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .sign(creds.servicePrivateKey);
}

/**
 * A user JWT (HS256 with USER_JWT_SECRET) with the scopes the app uses; valid for an hour.
 *
 * @example
 * const jwt = await signUserJwt(creds, 'bench-user-1');
 */
export function signUserJwt(creds: BenchCredentials, sub: string, nowMs = Date.now()): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ scope: 'ttt:transcribe credits:read' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(new TextEncoder().encode(creds.userJwtSecret));
}

/**
 * `count` single-use POST /transcribe requests for TTTranscribe itself: each with a fresh service token and a
 * fresh X-Engine-Auth nonce, signed now (TTTranscribe accepts a timestamp for 300 s, so build them right before
 * the window that sends them).
 *
 * @example
 * const supply = await directTranscribeSupply(creds, 20_000, body, ['bench-user-1']);
 */
export async function directTranscribeSupply(
  creds: BenchCredentials,
  count: number,
  body: string,
  users: readonly string[],
): Promise<HttpRequestSpec[]> {
  const out: HttpRequestSpec[] = [];
  for (let i = 0; i < count; i++) {
    const token = await signServiceToken(creds, users[i % users.length] as string);
    const { header } = signEngineAuth({
      keys: [creds.engineAuthKey],
      method: 'POST',
      target: '/transcribe',
      body,
      bearerToken: token,
    });
    out.push({
      method: 'POST',
      path: '/transcribe',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, [ENGINE_AUTH_HEADER]: header },
      body,
    });
  }
  return out;
}
