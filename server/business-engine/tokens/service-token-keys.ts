import { createPrivateKey, randomBytes, sign as signBytes, type KeyObject } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { ApiError } from '../../shared/errors/api-error.js';
import { translateJoseError } from '../../shared/auth/jose-errors.js';
import type { ServiceTokenKeyConfig } from '../config.js';

/** Fixed parts of every service token (see the serviceToken security scheme). */
export const SERVICE_TOKEN = {
  typ: 'ttt-service+jwt',
  alg: 'ES256',
  issuer: 'business-engine',
  audience: 'tttranscribe',
  scope: 'ttt:transcribe',
  lifetimeSec: 900,
  clockToleranceSec: 30,
} as const;

/** The claims of a service token the engine issued. */
export interface ServiceTokenClaims {
  readonly sub: string;
  readonly jti: string;
  readonly scope: string;
  readonly iat: number;
  readonly exp: number;
}

/**
 * Signs one service token. The engine's own signer answers synchronously, which lets a vend charge, sign and
 * store its answer in one transaction; a signer that returns a promise (a remote key service; tests: a slow or
 * failing signer) is awaited between two transactions, with the charge refunded if it fails.
 */
export type SignServiceToken = (claims: ServiceTokenClaims) => string | Promise<string>;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A fresh id: prefix plus 26 random Crockford base32 characters (130 bits).
 *
 * @example
 * newTokenId(); // 'tok_7ZQ3K…'
 */
export function newTokenId(prefix = 'tok_'): string {
  const bytes = randomBytes(26);
  let out = prefix;
  for (const b of bytes) out += CROCKFORD[b & 31];
  return out;
}

/**
 * The engine's ES256 service-token key, imported once: it signs tokens, verifies the engine's own tokens before
 * anything is forwarded (jose, on a CryptoKey), and is published (public part only) as the JWK Set.
 *
 * Signing builds the compact JWS with node:crypto on a KeyObject (ECDSA P-256, IEEE P1363 signature) rather than
 * jose's SignJWT: on this project's machines WebCrypto signing costs ~230 µs of CPU per token against ~50 µs
 * (`npx tsx bench/micro/crypto-costs.ts`), on the vend hot path. Only signing is done this way: the input is
 * the engine's own claims, never untrusted bytes; every token is checked by jose (here, in TTTranscribe, and in
 * test/server/business-engine/tokens/service-token-keys.test.ts).
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
  private readonly publicKey: Promise<CryptoKey>;

  constructor(config: ServiceTokenKeyConfig) {
    const { d: _d, ...publicPart } = config.privateJwk;
    this.kid = config.kid;
    this.publicJwk = { ...publicPart, kid: config.kid, alg: SERVICE_TOKEN.alg, use: 'sig' };
    if (config.privateJwk['kty'] !== 'EC' || config.privateJwk['crv'] !== 'P-256' || !config.privateJwk['d']) {
      throw new Error('The service-token key must be a private EC P-256 JWK (kty EC, crv P-256, with d).');
    }
    this.signingKey = createPrivateKey({ key: { ...config.privateJwk }, format: 'jwk' });
    this.encodedHeader = base64url(JSON.stringify({ alg: SERVICE_TOKEN.alg, typ: SERVICE_TOKEN.typ, kid: config.kid }));
    this.publicKey = importJWK({ ...publicPart }, SERVICE_TOKEN.alg) as Promise<CryptoKey>;
    // Awaited on use; this only keeps an import failure from being reported as an unhandled rejection.
    this.publicKey.catch(() => undefined);
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
      scope: claims.scope, iss: SERVICE_TOKEN.issuer, aud: SERVICE_TOKEN.audience,
      sub: claims.sub, jti: claims.jti, iat: claims.iat, exp: claims.exp,
    };
    const signingInput = `${this.encodedHeader}.${base64url(JSON.stringify(payload))}`;
    const signature = signBytes('sha256', Buffer.from(signingInput), { key: this.signingKey, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
  };

  /**
   * Verifies a token this engine issued: ES256 under its kid, typ, iss, aud, required claims and scope; with
   * `ignoreExpiry` (reading a job's status) only the signature and the fixed claims are checked.
   *
   * @throws ApiError invalid_token, token_expired, token_not_yet_valid, invalid_token_claims or insufficient_scope.
   */
  async verify(token: string, options: { nowMs: number; ignoreExpiry?: boolean }): Promise<ServiceTokenClaims> {
    const context = { credential: 'service_token' as const, nowMs: options.nowMs, clockToleranceSec: SERVICE_TOKEN.clockToleranceSec };
    try {
      const header = decodeProtectedHeader(token);
      if (header.kid !== this.kid) {
        throw new ApiError('invalid_token', "The service token's key id is not this engine's signing key.", {
          details: { credential: 'service_token', reason: 'unknown_key_id' },
        });
      }
      const key = await this.publicKey;
      let payload: Record<string, unknown>;
      if (options.ignoreExpiry) {
        const verified = await compactVerify(token, key, { algorithms: [SERVICE_TOKEN.alg] });
        if (verified.protectedHeader.typ !== SERVICE_TOKEN.typ) throw claimError('typ', 'check_failed');
        payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
        if (payload['iss'] !== SERVICE_TOKEN.issuer) throw claimError('iss', 'check_failed');
        if (payload['aud'] !== SERVICE_TOKEN.audience) throw claimError('aud', 'check_failed');
      } else {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [SERVICE_TOKEN.alg],
          typ: SERVICE_TOKEN.typ,
          issuer: SERVICE_TOKEN.issuer,
          audience: SERVICE_TOKEN.audience,
          requiredClaims: ['sub', 'jti', 'scope', 'iat', 'exp'],
          clockTolerance: SERVICE_TOKEN.clockToleranceSec,
          currentDate: new Date(options.nowMs),
        }));
      }
      for (const claim of ['sub', 'jti', 'scope'] as const) {
        if (typeof payload[claim] !== 'string' || payload[claim] === '') throw claimError(claim, typeof payload[claim] === 'undefined' ? 'missing' : 'invalid');
      }
      const scopes = String(payload['scope']).split(' ');
      if (!scopes.includes(SERVICE_TOKEN.scope)) {
        throw new ApiError('insufficient_scope', `This operation needs the scope '${SERVICE_TOKEN.scope}'.`, {
          details: { requiredScope: SERVICE_TOKEN.scope, grantedScopes: scopes.filter((s) => s !== '') },
        });
      }
      return {
        sub: payload['sub'] as string, jti: payload['jti'] as string, scope: payload['scope'] as string,
        iat: Number(payload['iat']), exp: Number(payload['exp']),
      };
    } catch (error) {
      throw translateJoseError(error, context);
    }
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function claimError(claim: string, reason: 'missing' | 'invalid' | 'check_failed'): ApiError {
  return new ApiError('invalid_token_claims', `The service token's '${claim}' claim is ${reason === 'missing' ? 'missing' : 'not accepted'}.`, {
    details: { credential: 'service_token', claim, reason },
  });
}
