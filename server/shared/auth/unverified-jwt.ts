/**
 * A JWT's payload read WITHOUT verifying it: for logs (what a refused token claimed) and for lookups whose answer is
 * itself checked (the jti under which the engine recorded a token's digest). Nothing read here may be trusted on
 * its own. Only the payload is decoded: the header is not looked at (its shape is all a caller needs), and
 * base64url is decoded leniently (a stray trailing character is dropped, where jose would refuse the token).
 */

/**
 * The outline of a compact JWS, `header.payload.signature` in base64url (the signature may be empty); group 1 is the
 * payload.
 *
 * @example
 * COMPACT_JWS.test(bearer); // true for anything shaped like a JWT
 */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/;

/**
 * Decodes one base64url payload segment; undefined unless it is a JSON object.
 *
 * @example
 * decodePayloadSegment(token.split('.')[1]!)?.['jti']; // 'tok_…' or undefined
 */
export function decodePayloadSegment(encoded: string): Record<string, unknown> | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The payload of a compact JWS (`header.payload.signature`), unverified; undefined for anything else.
 *
 * @example
 * unverifiedJwtPayload(bearer)?.['sub']; // what the token claims, not who the caller proved to be
 */
export function unverifiedJwtPayload(token: string): Record<string, unknown> | undefined {
  const encoded = COMPACT_JWS.exec(token)?.[1];
  return encoded === undefined ? undefined : decodePayloadSegment(encoded);
}
