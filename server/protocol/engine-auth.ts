import { createHmac, createSecretKey, hash, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** X-Engine-Auth v1: the Business Engine signs each request to TTTranscribe; see docs/engine-auth.md. */
export const ENGINE_AUTH_HEADER = 'X-Engine-Auth';
const STRING_TO_SIGN_TAG = 'ttt-engine-auth/v1';
const AUDIENCE = 'tttranscribe';
const MAX_HEADER_LENGTH = 1024;
const MAX_SIGNATURES = 4;

/** One shared key and its public id; build it with `parseSharedSecret`. */
export interface EngineAuthKey {
  readonly key: Uint8Array;
  readonly keyId: string;
}

export interface StringToSignInput {
  readonly timestamp: number;
  readonly nonce: string;
  readonly method: string;
  /** The request target exactly as sent: path plus `?query` if any, never decoded or re-encoded. */
  readonly target: string;
  /** Raw body bytes; a string is taken as UTF-8; `undefined` means an empty body. */
  readonly body: Uint8Array | string | undefined;
  /** The token after `Bearer ` in Authorization, or `undefined` when none is sent. */
  readonly bearerToken: string | undefined;
}

/**
 * Lowercase hex SHA-256; strings are hashed as UTF-8 and `undefined` as empty bytes.
 *
 * @example
 * sha256Hex(undefined); // 'e3b0c442…b855'
 */
export function sha256Hex(data: Uint8Array | string | undefined): string {
  return hash('sha256', data ?? '', 'hex');
}

/**
 * The v1 string to sign: eight lines joined by "\n", no trailing newline. It holds only hashes of the body and
 * token, so a server may show it in an error body.
 *
 * @example
 * buildStringToSign({ timestamp: 1767225600, nonce: 'AAAAAAAAAAAAAAAAAAAAAA', method: 'get', target: '/health',
 *   body: undefined, bearerToken: undefined }); // 'ttt-engine-auth/v1\n1767225600\n…\nGET\n/health\ntttranscribe\n…'
 */
export function buildStringToSign(input: StringToSignInput): string {
  return [
    STRING_TO_SIGN_TAG,
    String(input.timestamp),
    input.nonce,
    input.method.toUpperCase(),
    input.target,
    AUDIENCE,
    sha256Hex(input.body),
    sha256Hex(input.bearerToken ?? ''),
  ].join('\n');
}

export interface SignEngineAuthInput extends Omit<StringToSignInput, 'timestamp' | 'nonce'> {
  /** Every key the signer holds, current first; the header carries one signature per key. */
  readonly keys: readonly EngineAuthKey[];
  /** Clock in milliseconds (default `Date.now`). */
  readonly now?: () => number;
  /** Fixed nonce for test vectors only; by default 16 fresh random bytes. */
  readonly nonce?: string;
}

export interface SignedEngineAuth {
  readonly header: string;
  readonly stringToSign: string;
  readonly timestamp: number;
  readonly nonce: string;
}

/**
 * Sign one request. Call it for every attempt, retries included: each nonce is accepted once.
 *
 * @example
 * const url = new URL('/transcribe', baseUrl); // sign the target fetch will really send
 * const { header } = signEngineAuth({ keys, method: 'POST', target: url.pathname + url.search, body, bearerToken });
 * await fetch(url, { method: 'POST', body, headers: { [ENGINE_AUTH_HEADER]: header, authorization: `Bearer ${bearerToken}` } });
 */
export function signEngineAuth(input: SignEngineAuthInput): SignedEngineAuth {
  if (input.keys.length === 0) throw new TypeError('signEngineAuth needs at least one key');
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(input.method)) throw new TypeError('method is not an HTTP token');
  if (!/^\/[\x21-\x7e]*$/.test(input.target)) {
    throw new TypeError('target must be the origin-form request target (starts with "/", printable ASCII, no spaces)');
  }
  const nonce = input.nonce ?? randomBytes(16).toString('base64url');
  if (!NONCE_RE.test(nonce)) throw new TypeError('nonce must be 22 base64url characters');
  const timestamp = Math.floor((input.now ?? Date.now)() / 1000);
  const stringToSign = buildStringToSign({ ...input, timestamp, nonce });
  const sigs = input.keys.map((k) => `${k.keyId}:${hmacBase64url(k.key, stringToSign)}`);
  return { header: `v1;t=${timestamp};n=${nonce};sig=${sigs.join(',')}`, stringToSign, timestamp, nonce };
}

export interface ParsedEngineAuthHeader {
  readonly version: 'v1';
  readonly timestamp: number;
  readonly nonce: string;
  readonly signatures: readonly { readonly keyId: string; readonly signature: string }[];
}

export type ParseEngineAuthHeaderResult =
  | { readonly ok: true; readonly value: ParsedEngineAuthHeader }
  | { readonly ok: false; readonly reason: 'malformed' | 'unsupported_version'; readonly problem: string };

const NONCE_RE = /^[A-Za-z0-9_-]{22}$/;
const SIG_RE = /^([0-9a-f]{16}):([A-Za-z0-9_-]{1,128})$/;

/**
 * Parse `v1;t=<unix seconds>;n=<nonce>;sig=<kid>:<sig>[,<kid>:<sig>…]` strictly (fixed field order, no spaces,
 * no leading zeros in t, at most 4 signatures, no repeated kid). `problem` never echoes the header.
 *
 * @example
 * parseEngineAuthHeader('v2;x'); // { ok: false, reason: 'unsupported_version', problem: 'version v2' }
 */
export function parseEngineAuthHeader(header: string): ParseEngineAuthHeaderResult {
  const bad = (problem: string) => ({ ok: false, reason: 'malformed', problem }) as const;
  if (header.length > MAX_HEADER_LENGTH) return bad(`longer than ${MAX_HEADER_LENGTH} characters`);
  const [version, t, n, sig, ...extra] = header.split(';');
  if (version !== 'v1') {
    if (version !== undefined && /^v\d{1,4}$/.test(version))
      return { ok: false, reason: 'unsupported_version', problem: `version ${version}` };
    return bad('does not start with "v1;"');
  }
  if (t === undefined || n === undefined || sig === undefined || extra.length > 0)
    return bad('expected exactly 4 ";"-separated fields');
  if (!/^t=(0|[1-9]\d{0,11})$/.test(t)) return bad('second field must be t=<unix seconds>');
  if (!n.startsWith('n=') || !NONCE_RE.test(n.slice(2))) return bad('third field must be n=<22 base64url characters>');
  if (!sig.startsWith('sig=')) return bad('fourth field must be sig=<kid>:<signature>');
  const signatures: { keyId: string; signature: string }[] = [];
  for (const entry of sig.slice(4).split(',')) {
    const m = SIG_RE.exec(entry);
    if (!m?.[1] || !m[2]) return bad('each signature must be <16 lowercase hex kid>:<base64url signature>');
    if (signatures.some((s) => s.keyId === m[1])) return bad('a key id appears twice');
    signatures.push({ keyId: m[1], signature: m[2] });
  }
  if (signatures.length > MAX_SIGNATURES) return bad(`more than ${MAX_SIGNATURES} signatures`);
  return { ok: true, value: { version: 'v1', timestamp: Number(t.slice(2)), nonce: n.slice(2), signatures } };
}

/**
 * Constant-time string equality via `crypto.timingSafeEqual`; different lengths return `false` (never throw).
 * Only the length of the expected value, which is public, can leak.
 *
 * @example
 * constantTimeEqual(expectedSig, receivedSig);
 */
export function constantTimeEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * The token from an `Authorization: Bearer <token>` header (scheme case-insensitive), else `undefined`.
 *
 * @example
 * bearerTokenFromAuthorization(req.get('authorization'));
 */
export function bearerTokenFromAuthorization(authorization: string | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  return m?.[1];
}

// KeyObjects are imported once per key, keyed by the key's bytes object (so do not mutate a key after use).
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/** Base64url HMAC-SHA256 of `data`, with the key imported once as a KeyObject. */
export function hmacBase64url(key: Uint8Array, data: string): string {
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return createHmac('sha256', keyObject).update(data).digest('base64url');
}
