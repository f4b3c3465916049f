/**
 * The service-token contract (spec/shared/security.yaml#/serviceToken): what the Business Engine signs and
 * TTTranscribe (and the engine itself, on its job-status route) accepts. ES256 only: the engine signs with its
 * own P-256 key, so `none`, any HS* (a user JWT or a shared secret used as an HMAC key) and every other
 * algorithm are refused before a key is even looked up.
 *
 * @example
 * new SignJWT({ iss: SERVICE_TOKEN.issuer, aud: SERVICE_TOKEN.audience, scope: SERVICE_TOKEN.scope, sub, jti, iat, exp: iat + SERVICE_TOKEN.lifetimeSec })
 *   .setProtectedHeader({ alg: SERVICE_TOKEN.alg, typ: SERVICE_TOKEN.typ, kid });
 */
export const SERVICE_TOKEN = {
  typ: 'ttt-service+jwt',
  alg: 'ES256',
  issuer: 'business-engine',
  audience: 'tttranscribe',
  scope: 'ttt:transcribe',
  /** How long a vended token lives, and the most exp − iat a verifier accepts. */
  lifetimeSec: 900,
  clockToleranceSec: 30,
} as const;
