import type { HttpRequestSpec } from '../harness/closed-load.js';
import { TRANSCRIBE_BODY } from './limits.js';

/**
 * POST /ttt/transcribe requests to the gateway, one per vended service token.
 *
 * @example
 * const supply = gatewaySupply(await users.vendTokens(100));
 */
export function gatewaySupply(tokens: readonly string[]): HttpRequestSpec[] {
  return tokens.map((token) => ({
    method: 'POST',
    path: '/ttt/transcribe',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: TRANSCRIBE_BODY,
  }));
}
