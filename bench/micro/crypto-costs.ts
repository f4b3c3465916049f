/**
 * `npx tsx bench/micro/crypto-costs.ts`: CPU cost per operation of the token and signature work on the hot paths
 * (service-token ES256 verify/sign, user-JWT HS256 verify, X-Engine-Auth), each done the way the services do it
 * and the cheaper way the profiling findings propose. Measured in CPU microseconds (process.cpuUsage, which also
 * counts WebCrypto's thread pool), median of 5 interleaved runs, so a busy shared machine distorts it little.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { signEngineAuth } from '../../server/protocol/engine-auth.js';
import { createEngineAuthVerifier } from '../../server/tttranscribe/auth/engine-auth-verifier.js';
import { SERVICE_TOKEN } from '../../server/protocol/service-token.js';
import { ServiceTokenKeys } from '../../server/business-engine/tokens/service-token-keys.js';

type Op = () => unknown;
const OPS_PER_RUN = 2000;
const RUNS = 5;

async function cpuMicrosPerOp(op: Op): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < OPS_PER_RUN; i++) await op();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / OPS_PER_RUN;
}

async function measureAll(cases: ReadonlyArray<[string, Op]>): Promise<void> {
  for (const [, op] of cases) for (let i = 0; i < 300; i++) await op();
  const runs = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const [name, op] of cases) runs.get(name)?.push(await cpuMicrosPerOp(op));
  }
  for (const [name, values] of runs) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(`${name.padEnd(64)} ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1).padStart(8)} µs CPU/op`);
  }
}

const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const privateJwk = await exportJWK(privateKey);
const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
const claims = { issuer: 'business-engine', audience: 'tttranscribe', typ: 'ttt-service+jwt', algorithms: ['ES256'] };
const serviceToken = await new SignJWT({ scope: 'ttt:transcribe' })
  .setProtectedHeader({ alg: 'ES256', typ: 'ttt-service+jwt', kid: 'k1' })
  .setIssuer('business-engine')
  .setAudience('tttranscribe')
  .setSubject('u1')
  .setJti('tok_1')
  .setIssuedAt()
  .setExpirationTime('15m')
  .sign(privateKey);
const localJwks = createLocalJWKSet({ keys: [publicJwk] });
const publicKeyObject = createPublicKey({ key: publicJwk as never, format: 'jwk' });
const privateKeyObject = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
const [h, p, s] = serviceToken.split('.') as [string, string, string];
const signingInput = Buffer.from(`${h}.${p}`);
const signature = Buffer.from(s, 'base64url');

// The engine's own verifier, on a token it signed (the submission path: one path, in full).
const engineKeys = new ServiceTokenKeys({ privateJwk: privateJwk as Record<string, string>, kid: 'k1' });
const nowSec = Math.floor(Date.now() / 1000);
const engineToken = engineKeys.sign({
  sub: 'u1',
  jti: 'tok_3',
  scope: SERVICE_TOKEN.scope,
  iat: nowSec,
  exp: nowSec + SERVICE_TOKEN.lifetimeSec,
});

const userSecret = new TextEncoder().encode(randomBytes(48).toString('base64url'));
const userJwt = await new SignJWT({ scope: 'ttt:transcribe' })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject('u1')
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(userSecret);
const hmacCryptoKey = await crypto.subtle.importKey('raw', userSecret, { name: 'HMAC', hash: 'SHA-256' }, false, [
  'verify',
]);
const userSecretKeyObject = createSecretKey(userSecret);

const key = parseSharedSecret('TTT_SHARED_SECRET', generateSharedSecret());
const body = JSON.stringify({ url: 'https://media.example.com/clip.mp4', language: 'en' });
const verifier = createEngineAuthVerifier({ keys: [key], maxNonces: 1_000_000 });

await measureAll([
  ['service token verify: jose jwtVerify, createLocalJWKSet (TTT)', () => jwtVerify(serviceToken, localJwks, claims)],
  ['service token verify: jose jwtVerify, CryptoKey', () => jwtVerify(serviceToken, publicKey, claims)],
  [
    'service token verify: node:crypto verify, KeyObject (engine)',
    () => nodeVerify('sha256', signingInput, { key: publicKeyObject, dsaEncoding: 'ieee-p1363' }, signature),
  ],
  [
    'service token verify: engine ServiceTokenKeys, in full',
    () => engineKeys.verify(engineToken, { nowMs: Date.now() }),
  ],
  [
    'service token sign: jose SignJWT, CryptoKey',
    () =>
      new SignJWT({ scope: 'ttt:transcribe' })
        .setProtectedHeader({ alg: 'ES256', typ: 'ttt-service+jwt', kid: 'k1' })
        .setSubject('u1')
        .setJti('tok_2')
        .setIssuedAt()
        .sign(privateKey),
  ],
  [
    'service token sign: node:crypto sign, KeyObject (engine vend)',
    () => nodeSign('sha256', signingInput, { key: privateKeyObject, dsaEncoding: 'ieee-p1363' }),
  ],
  [
    'user JWT verify: jose jwtVerify, Uint8Array secret',
    () => jwtVerify(userJwt, userSecret, { algorithms: ['HS256'] }),
  ],
  [
    'user JWT verify: jose jwtVerify, CryptoKey imported once (engine, on a cache miss)',
    () => jwtVerify(userJwt, hmacCryptoKey, { algorithms: ['HS256'] }),
  ],
  [
    'user JWT verify: node:crypto HMAC, KeyObject (signature only)',
    () =>
      createHmac('sha256', userSecretKeyObject)
        .update(userJwt.slice(0, userJwt.lastIndexOf('.')))
        .digest(),
  ],
  [
    'X-Engine-Auth sign (engine, per forward)',
    () => signEngineAuth({ keys: [key], method: 'POST', target: '/transcribe', body, bearerToken: serviceToken }),
  ],
  [
    'X-Engine-Auth sign + verify (TTT, per request)',
    () => {
      const { header } = signEngineAuth({
        keys: [key],
        method: 'POST',
        target: '/transcribe',
        body,
        bearerToken: serviceToken,
      });
      return verifier.verify({ header, method: 'POST', target: '/transcribe', body, bearerToken: serviceToken });
    },
  ],
]);
