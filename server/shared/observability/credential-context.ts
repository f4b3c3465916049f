import type { Response } from 'express';
import { unverifiedJwtPayload } from '../auth/unverified-jwt.js';

/**
 * What the logs say about the credential of a request, set by the auth middlewares as soon as they can tell,
 * even when verification then fails. Claims come from decoding without verifying: `claimedSubject` is what the
 * token says, not who the caller proved to be (that is `res.locals.subject`). Never the token itself.
 */
export interface CredentialContext {
  /** user_jwt, service_token, integration_token, admin_token, metrics_token, shared_secret or opaque. */
  readonly kind: string;
  /** A non-secret id of the credential: a service token's jti or an integration token's id. */
  readonly id: string | null;
  readonly claimedSubject: string | null;
  readonly issuedAt: string | null;
  readonly expiresAt: string | null;
  /** Seconds since issue at the server's clock (≈ the lifetime for a token used until it expired). */
  readonly ageSec: number | null;
  /** Seconds left before expiry; negative once expired. */
  readonly expiresInSec: number | null;
}

const MAX_CLAIM_CHARS = 128;

/**
 * Describes a credential from what is known about it (times in ms).
 *
 * @example
 * describeCredential({ kind: 'integration_token', id: 'itk_…', subject: 'u1', issuedAtMs: row.createdAt, expiresAtMs: null }, now());
 */
export function describeCredential(
  input: {
    kind: string;
    id?: string | null;
    subject?: string | null;
    issuedAtMs?: number | null;
    expiresAtMs?: number | null;
  },
  nowMs: number,
): CredentialContext {
  const issued = finite(input.issuedAtMs);
  const expires = finite(input.expiresAtMs);
  return {
    kind: input.kind,
    id: clip(input.id),
    claimedSubject: clip(input.subject),
    issuedAt: issued === null ? null : new Date(issued).toISOString(),
    expiresAt: expires === null ? null : new Date(expires).toISOString(),
    ageSec: issued === null ? null : Math.round((nowMs - issued) / 1000),
    expiresInSec: expires === null ? null : Math.round((expires - nowMs) / 1000),
  };
}

/**
 * Describes a JWT by decoding its payload WITHOUT verifying (sub, jti, iat, exp), for the logs of a request whose
 * verification may still fail; anything that is not a compact JWT with a JSON object payload gives a context
 * with only the kind. Only the payload segment is decoded (no header, no jose): every request with a bearer
 * JWT pays for this, whatever its verification then costs.
 *
 * @example
 * setCredential(res, describeJwtCredential('user_jwt', token, now()));
 */
export function describeJwtCredential(kind: string, token: string, nowMs: number): CredentialContext {
  const claims = unverifiedJwtPayload(token);
  if (!claims) return describeCredential({ kind }, nowMs);
  const seconds = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v * 1000 : null);
  return describeCredential(
    {
      kind,
      id: typeof claims['jti'] === 'string' ? claims['jti'] : null,
      subject: typeof claims['sub'] === 'string' ? claims['sub'] : null,
      issuedAtMs: seconds(claims['iat']),
      expiresAtMs: seconds(claims['exp']),
    },
    nowMs,
  );
}

/**
 * Records the credential context on the response, for the access log and the error log.
 *
 * @example
 * setCredential(res, describeCredential({ kind: 'admin_token' }, now()));
 */
export function setCredential(res: Response, context: CredentialContext): void {
  res.locals['credential'] = context;
}

/**
 * The credential context an auth middleware recorded, if any.
 *
 * @example
 * logger.warn({ credential: credentialOf(res) }, 'refused');
 */
export function credentialOf(res: Response): CredentialContext | undefined {
  return res.locals['credential'] as CredentialContext | undefined;
}

function finite(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e15 ? value : null;
}

function clip(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  return value.length > MAX_CLAIM_CHARS ? `${value.slice(0, MAX_CLAIM_CHARS)}…` : value;
}
