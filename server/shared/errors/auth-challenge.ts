import type { ApiError } from './api-error.js';

/** The auth scheme of X-Engine-Auth failures: the header's own name, so a client never mistakes it for Bearer. */
export const ENGINE_AUTH_SCHEME = 'X-Engine-Auth';

/** Longest error_description sent; the problem body carries the full detail. */
const MAX_DESCRIPTION_LENGTH = 200;

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 9110 11.6.1: every 401 carries one), undefined for any other
 * status. Codes of X-Engine-Auth (those naming `engine_auth`) challenge with the `X-Engine-Auth` scheme; every
 * other 401 is about the bearer credential and follows RFC 6750 section 3: no error when no credential was sent
 * (`missing_authorization`), `error="invalid_request"` for a malformed header, `error="invalid_token"` for a
 * credential that does not verify, each with `error_description` (the problem's detail, quoted-string safe) and
 * `pluct_code` (the catalog code).
 *
 * @example
 * authChallenge(new ApiError('token_expired', 'The user JWT expired 42 seconds ago.'), 'Business Engine');
 * // 'Bearer realm="Business Engine", error="invalid_token", error_description="The user JWT expired 42 seconds ago.", pluct_code="token_expired"'
 */
export function authChallenge(error: Pick<ApiError, 'status' | 'code' | 'detail'>, realm: string): string | undefined {
  if (error.status !== 401) return undefined;
  const engineAuth = error.code.includes('engine_auth');
  const scheme = engineAuth ? ENGINE_AUTH_SCHEME : 'Bearer';
  const params = [`realm="${quotable(realm)}"`];
  if (engineAuth) params.push('version="v1"');
  if (error.code !== 'missing_authorization') {
    const rfc6750 = error.code === 'malformed_authorization' ? 'invalid_request' : 'invalid_token';
    params.push(`error="${engineAuth ? error.code : rfc6750}"`, `error_description="${quotable(error.detail)}"`);
    if (!engineAuth) params.push(`pluct_code="${error.code}"`);
  }
  return `${scheme} ${params.join(', ')}`;
}

/** RFC 6750 3: error_description holds %x20-21 / %x23-5B / %x5D-7E only (no quote, no backslash, ASCII). */
function quotable(text: string): string {
  const safe = text
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x7e]/g, '?');
  return safe.length > MAX_DESCRIPTION_LENGTH ? `${safe.slice(0, MAX_DESCRIPTION_LENGTH - 3)}...` : safe;
}
