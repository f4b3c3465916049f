import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { credentialShape, describe, type CredentialShape, type ExpectedCredential } from '../../shared/auth/bearer.js';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import { parseSharedSecret } from '../../protocol/engine-auth-secret.js';
import { ApiError } from '../../shared/errors/api-error.js';
import {
  describeCredential,
  describeJwtCredential,
  setCredential,
} from '../../shared/observability/credential-context.js';
import { SERVICE_TOKEN } from '../../protocol/service-token.js';

/** What a bearer value is, judged without verifying it. */
export type BearerKind =
  'shared_secret' | 'integration_token' | 'admin_token' | 'service_token' | 'user_jwt' | 'opaque';

/**
 * A token from the configuration (ADMIN_TOKEN, ENGINE_METRICS_TOKEN) that bearer values are compared with: its
 * SHA-256 digest and its shape are computed once, when the engine is built, not on every request.
 *
 * @example
 * const admin = new ConfiguredToken(config.adminToken);
 * if (admin.matches(token)) { ... }
 */
export class ConfiguredToken {
  private readonly digest: Buffer;
  readonly shape: CredentialShape;

  constructor(value: string) {
    if (value === '') throw new Error('a configured token cannot be empty');
    this.digest = sha256(value);
    this.shape = credentialShape(value);
  }

  /** Compares in constant time (over SHA-256 digests, so not even the length leaks). */
  matches(token: string): boolean {
    return timingSafeEqual(sha256(token), this.digest);
  }
}

/**
 * Tells the kind of a bearer value: a `tttsk_` shared secret, a `yit_` integration token, the admin token
 * (constant-time), a service token (JWT with typ `ttt-service+jwt`), any other JWT (taken for a user JWT), or
 * something opaque.
 *
 * @example
 * classifyBearer(token, authDeps.adminToken); // 'user_jwt'
 */
export function classifyBearer(token: string, adminToken: ConfiguredToken): BearerKind {
  const shape = credentialShape(token);
  if (shape === 'shared_secret' || shape === 'integration_token') return shape;
  // A value of another shape than the admin token cannot be it: skip the hashing (the shape is public anyway).
  if (shape === adminToken.shape && adminToken.matches(token)) return 'admin_token';
  if (shape !== 'jwt') return 'opaque';
  // Every token from one issuer has the same header bytes, so its kind is decoded once per distinct header.
  const header = token.slice(0, token.indexOf('.'));
  let kind = kindByHeader.get(header);
  if (kind === undefined) {
    try {
      kind = decodeProtectedHeader(token).typ === SERVICE_TOKEN.typ ? 'service_token' : 'user_jwt';
    } catch {
      kind = 'opaque';
    }
    if (kindByHeader.size >= MAX_REMEMBERED_HEADERS) kindByHeader.clear();
    kindByHeader.set(header, kind);
  }
  return kind;
}

const MAX_REMEMBERED_HEADERS = 256;
const kindByHeader = new Map<string, BearerKind>();
const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * The `credential_type_mismatch` error for a bearer of the wrong kind. A shared secret sent as a bearer is a
 * leak: it is logged at warn with its key id (and whether it is one of this engine's keys), never the value.
 *
 * @example
 * throw credentialMismatch('shared_secret', 'user_jwt', { logger, tttKeys, token, requestId });
 */
export function credentialMismatch(
  received: Exclude<BearerKind, 'opaque'>,
  expected: ExpectedCredential,
  context: { logger: Logger; tttKeys: readonly EngineAuthKey[]; token: string; requestId: string },
): ApiError {
  if (received === 'shared_secret') {
    let keyId: string | null = null;
    try {
      keyId = parseSharedSecret('bearer', context.token).keyId;
    } catch {
      // Not a well-formed secret: there is no key id to report.
    }
    context.logger.warn(
      { requestId: context.requestId, keyId, ours: keyId !== null && context.tttKeys.some((k) => k.keyId === keyId) },
      'a TTTranscribe shared secret was sent as a bearer token; treat it as leaked and rotate it',
    );
  }
  const what: Record<typeof received, string> = {
    shared_secret: 'a TTTranscribe shared secret',
    integration_token: 'an integration token',
    admin_token: 'the admin token',
    service_token: 'a service token',
    user_jwt: 'a user JWT',
  };
  return new ApiError('credential_type_mismatch', `The bearer value is ${what[received]}, not ${describe(expected)}.`, {
    details: { received, expected },
  });
}

/**
 * Records, for the logs, what kind of credential a request carries and, for a JWT, its claimed subject, age and
 * expiry decoded WITHOUT verifying (so a refused token still shows how old it was). Never the value.
 *
 * @example
 * noteCredential(res, classifyBearer(token, deps.adminToken), token, deps.now());
 */
export function noteCredential(res: Response, kind: BearerKind, token: string, nowMs: number): void {
  setCredential(
    res,
    kind === 'user_jwt' || kind === 'service_token'
      ? describeJwtCredential(kind, token, nowMs)
      : describeCredential({ kind }, nowMs),
  );
}
