import {
  createPrivateKey,
  createPublicKey,
  randomFillSync,
  sign as signBytes,
  verify as verifyBytes,
  type KeyObject,
} from 'node:crypto';
import {
  decodeProtectedHeader,
  errors as joseErrors,
  UnsecuredJWT,
  type JWK,
  type ProtectedHeaderParameters,
} from 'jose';
import { ApiError } from '../../shared/errors/api-error.js';
import { translateJoseError } from '../../shared/auth/jose-errors.js';
import type { ServiceTokenKeyConfig } from '../config.js';
import type { ServiceTokenClaims } from '../db/engine-records.js';
import { SERVICE_TOKEN } from '../../protocol/service-token.js';

export type { ServiceTokenClaims, SignServiceToken } from '../db/engine-records.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** How {@link ServiceTokenKeys.verify} checks a token; see there. */
export interface VerifyServiceTokenOptions {
  readonly nowMs: number;
  /** Reading a job's status: only the signature and the fixed claims are checked, not the expiry. */
  readonly ignoreExpiry?: boolean;
}

// Random bytes drawn from the CSPRNG in blocks (as node's randomUUID does): one call per 256 ids, not one per id.
const RANDOM_BLOCK = 4096;
const randomBlock = Buffer.alloc(RANDOM_BLOCK);
let randomOffset = RANDOM_BLOCK;

function freshRandomBytes(count: number): Buffer {
  if (randomOffset + count > RANDOM_BLOCK) {
    randomFillSync(randomBlock);
    randomOffset = 0;
  }
  const bytes = randomBlock.subarray(randomOffset, randomOffset + count);
  randomOffset += count;
  return bytes;
}

/**
 * A fresh id: prefix plus 26 Crockford base32 characters, ULID-shaped: 10 of the time in ms, then 16 random (80
 * bits). Ids made later sort later, so a new token, ledger entry or key appends to the end of the b-trees it is a
 * key of instead of landing on a random page (which each commit would write again).
 *
 * @example
 * newTokenId(); // 'tok_01KBT0…' (time first, then randomness)
 */
export function newTokenId(prefix = 'tok_', nowMs: number = Date.now()): string {
  let time = '';
  let rest = Math.max(0, Math.floor(nowMs));
  for (let i = 0; i < 10; i += 1) {
    time = CROCKFORD.charAt(rest % 32) + time;
    rest = Math.floor(rest / 32);
  }
  let out = prefix + time;
  for (const b of freshRandomBytes(16)) out += CROCKFORD.charAt(b & 31);
  return out;
}

/**
 * The engine's ES256 service-token key, imported once: it signs tokens, verifies the engine's own tokens before
 * anything is forwarded (jose, on a CryptoKey), and is published (public part only) as the JWK Set.
 *
 * The ECDSA P-256 operations run on node:crypto KeyObjects (IEEE P1363 signatures), synchronously: jose 6 goes
 * through WebCrypto, whose every call is a job on the thread pool; on this project's machines that costs ~230 µs
 * of CPU per signature and ~280 µs per verification against ~50 and ~120 µs (`npx tsx bench/micro/crypto-costs.ts`),
 * plus a thread hop of latency, on the vend and submission hot paths. Everything else stays jose's: the header
 * is parsed by `decodeProtectedHeader`, and once the signature verifies, the claims (typ, iss, aud, required
 * claims, exp/nbf with the clock tolerance) are validated by jose's own claim-set validation (`UnsecuredJWT.decode`
 * over the verified payload), so every refusal has jose's error and the same catalog code. TTTranscribe
 * verifies the same tokens with jose alone (test/server/business-engine/tokens/service-token-keys.test.ts).
 *
 * @example
 * const keys = new ServiceTokenKeys(config.serviceTokenKey);
 * const token = keys.sign({ sub: 'u1', jti: newTokenId(), scope: 'ttt:transcribe', iat, exp: iat + 900 });
 * const claims = await keys.verify(token, { nowMs: Date.now() });
 */
export class ServiceTokenKeys {
  readonly kid: string;
  readonly publicJwk: JWK;
  private readonly signingKey: KeyObject;
  private readonly encodedHeader: string;
  private readonly verifyingKey: KeyObject;

  constructor(config: ServiceTokenKeyConfig) {
    const { d: _d, ...publicPart } = config.privateJwk;
    this.kid = config.kid;
    this.publicJwk = { ...publicPart, kid: config.kid, alg: SERVICE_TOKEN.alg, use: 'sig' };
    if (config.privateJwk['kty'] !== 'EC' || config.privateJwk['crv'] !== 'P-256' || !config.privateJwk['d']) {
      throw new Error('The service-token key must be a private EC P-256 JWK (kty EC, crv P-256, with d).');
    }
    this.signingKey = createPrivateKey({ key: { ...config.privateJwk }, format: 'jwk' });
    this.encodedHeader = base64url(JSON.stringify({ alg: SERVICE_TOKEN.alg, typ: SERVICE_TOKEN.typ, kid: config.kid }));
    this.verifyingKey = createPublicKey({ key: { ...publicPart }, format: 'jwk' });
  }

  /** The JWK Set served at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk }] };
  }

  readonly sign = (claims: ServiceTokenClaims): string => {
    if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp) || claims.exp <= claims.iat) {
      throw new TypeError('service token iat and exp must be whole seconds with exp after iat');
    }
    const payload = {
      scope: claims.scope,
      iss: SERVICE_TOKEN.issuer,
      aud: SERVICE_TOKEN.audience,
      sub: claims.sub,
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
    };
    const signingInput = `${this.encodedHeader}.${base64url(JSON.stringify(payload))}`;
    const signature = signBytes('sha256', Buffer.from(signingInput), {
      key: this.signingKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${signingInput}.${signature.toString('base64url')}`;
  };

  /**
   * Verifies a token this engine issued: ES256 under its kid, typ, iss, aud, required claims and scope; with
   * `ignoreExpiry` (reading a job's status) only the signature and the fixed claims are checked. One path for every
   * token: the signature is always verified, then the claims are always checked.
   *
   * @throws ApiError invalid_token, token_expired, token_not_yet_valid, invalid_token_claims or insufficient_scope.
   */
  async verify(token: string, options: VerifyServiceTokenOptions): Promise<ServiceTokenClaims> {
    const context = {
      credential: 'service_token' as const,
      nowMs: options.nowMs,
      clockToleranceSec: SERVICE_TOKEN.clockToleranceSec,
    };
    try {
      const { header, encodedPayload } = this.verifySignature(token);
      let payload: Record<string, unknown>;
      if (options.ignoreExpiry) {
        if (header.typ !== SERVICE_TOKEN.typ) throw claimError('typ', 'check_failed');
        payload = JSON.parse(Buffer.from(encodedPayload, 'base64url').toString('utf8')) as Record<string, unknown>;
        if (typeof payload !== 'object' || (payload as Record<string, unknown> | null) === null)
          throw new joseErrors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
        if (payload['iss'] !== SERVICE_TOKEN.issuer) throw claimError('iss', 'check_failed');
        if (payload['aud'] !== SERVICE_TOKEN.audience) throw claimError('aud', 'check_failed');
      } else {
        // The signature is verified: let jose validate the claims of the verified payload.
        const unsecured = `${base64url(JSON.stringify({ alg: 'none', ...(header.typ === undefined ? {} : { typ: header.typ }) }))}.${encodedPayload}.`;
        ({ payload } = UnsecuredJWT.decode(unsecured, {
          typ: SERVICE_TOKEN.typ,
          issuer: SERVICE_TOKEN.issuer,
          audience: SERVICE_TOKEN.audience,
          requiredClaims: ['sub', 'jti', 'scope', 'iat', 'exp'],
          clockTolerance: SERVICE_TOKEN.clockToleranceSec,
          currentDate: new Date(options.nowMs),
        }));
      }
      for (const claim of ['sub', 'jti', 'scope'] as const) {
        if (typeof payload[claim] !== 'string' || payload[claim] === '')
          throw claimError(claim, typeof payload[claim] === 'undefined' ? 'missing' : 'invalid');
      }
      const scopes = String(payload['scope']).split(' ');
      if (!scopes.includes(SERVICE_TOKEN.scope)) {
        throw new ApiError('insufficient_scope', `This operation needs the scope '${SERVICE_TOKEN.scope}'.`, {
          details: { requiredScope: SERVICE_TOKEN.scope, grantedScopes: scopes.filter((s) => s !== '') },
        });
      }
      return {
        sub: payload['sub'] as string,
        jti: payload['jti'] as string,
        scope: payload['scope'] as string,
        iat: Number(payload['iat']),
        exp: Number(payload['exp']),
      };
    } catch (error) {
      throw translateJoseError(error, context);
    }
  }

  /**
   * Checks the compact JWS: header (jose), this engine's kid, ES256, and the signature over header.payload.
   */
  private verifySignature(token: string): { header: ProtectedHeaderParameters; encodedPayload: string } {
    const parts = token.split('.');
    if (parts.length !== 3) throw new joseErrors.JWSInvalid('Invalid Compact JWS');
    const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
    const header = decodeProtectedHeader(token);
    if (header.kid !== this.kid) {
      throw new ApiError('invalid_token', "The service token's key id is not this engine's signing key.", {
        details: { credential: 'service_token', reason: 'unknown_key_id' },
      });
    }
    if (header.alg !== SERVICE_TOKEN.alg)
      throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    if (header.crit !== undefined || header.b64 !== undefined)
      throw new joseErrors.JWSInvalid('Unsupported JWS header parameters');
    if (!/^[A-Za-z0-9_-]+$/.test(encodedPayload) || !/^[A-Za-z0-9_-]{86}$/.test(encodedSignature)) {
      throw new joseErrors.JWSInvalid('Invalid Compact JWS');
    }
    const valid = verifyBytes(
      'sha256',
      Buffer.from(`${encodedHeader}.${encodedPayload}`),
      { key: this.verifyingKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(encodedSignature, 'base64url'),
    );
    if (!valid) throw new joseErrors.JWSSignatureVerificationFailed();
    return { header, encodedPayload };
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function claimError(claim: string, reason: 'missing' | 'invalid' | 'check_failed'): ApiError {
  return new ApiError(
    'invalid_token_claims',
    `The service token's '${claim}' claim is ${reason === 'missing' ? 'missing' : 'not accepted'}.`,
    {
      details: { credential: 'service_token', claim, reason },
    },
  );
}
