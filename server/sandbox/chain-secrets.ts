import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { generateSharedSecret } from '../protocol/engine-auth-secret.js';

/** Prefix of generated admin tokens, so one is recognisable in a bug report or a leaked-secret scan. */
export const ADMIN_TOKEN_PREFIX = 'pla_';

/** Every secret a chain of one engine and one TTTranscribe needs, in the variables' own names and formats. */
export interface ChainSecrets {
  readonly TTT_SHARED_SECRET: string;
  readonly USER_JWT_SECRET: string;
  readonly ADMIN_TOKEN: string;
  readonly SERVICE_TOKEN_PRIVATE_KEY: string;
}

/**
 * Generates fresh secrets for a local chain, the one definition `npm start` (which writes them to .env), the sandbox
 * (which keeps them in memory) and the multi-replica tools use: an X-Engine-Auth secret (tttsk_…), a user-JWT HS256
 * secret (32 random bytes as base64url text, used by the engine as its raw UTF-8 bytes), an admin token and an ES256
 * private JWK.
 *
 * @example
 * const secrets = await generateChainSecrets();
 * const env = { ...process.env, ...secrets };
 */
export async function generateChainSecrets(): Promise<ChainSecrets> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    TTT_SHARED_SECRET: generateSharedSecret(),
    USER_JWT_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_TOKEN: ADMIN_TOKEN_PREFIX + randomBytes(32).toString('base64url'),
    SERVICE_TOKEN_PRIVATE_KEY: JSON.stringify({
      kty: jwk.kty,
      crv: jwk.crv,
      x: jwk.x,
      y: jwk.y,
      d: jwk.d,
      alg: 'ES256',
    }),
  };
}
