import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

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
  return createHash('sha256').update(data ?? '').digest('hex');
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
  const sigs = input.keys.map((k) => `${k.keyId}:${hmac(k.key, stringToSign)}`);
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
    if (version !== undefined && /^v\d{1,4}$/.test(version)) return { ok: false, reason: 'unsupported_version', problem: `version ${version}` };
    return bad('does not start with "v1;"');
  }
  if (t === undefined || n === undefined || sig === undefined || extra.length > 0) return bad('expected exactly 4 ";"-separated fields');
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

export type EngineAuthFailureCode =
  | 'missing_engine_auth_header'
  | 'invalid_engine_auth_header'
  | 'engine_auth_key_mismatch'
  | 'engine_auth_timestamp_skewed'
  | 'engine_auth_replayed';

export type EngineAuthResult =
  | { readonly ok: true; readonly keyId: string }
  | { readonly ok: false; readonly code: EngineAuthFailureCode; readonly message: string; readonly details: Record<string, unknown> };

/** What the server saw; `target` is the raw request target (Express: `req.originalUrl`), `body` the raw bytes. */
export interface EngineAuthRequest extends Omit<StringToSignInput, 'timestamp' | 'nonce'> {
  readonly header: string | undefined;
}

export interface EngineAuthVerifierOptions {
  /** Accepted keys, current first (`TTT_SHARED_SECRET`, then `TTT_SHARED_SECRET_NEXT`). */
  readonly keys: readonly EngineAuthKey[];
  readonly toleranceSec?: number;
  /** How long a nonce is remembered; never less than its timestamp stays within tolerance, whatever this says. */
  readonly replayWindowSec?: number;
  /** Clock in milliseconds. */
  readonly now?: () => number;
  /** Replay-cache cap (default 100 000 ≈ 166 req/s sustained over 600 s); when full the oldest nonce is dropped. */
  readonly maxNonces?: number;
}

export interface EngineAuthVerifier {
  /** Verify and, on success, record the nonce so it is rejected for `replayWindowSec`. */
  verify(req: EngineAuthRequest): EngineAuthResult;
  /** Same checks (a seen nonce still fails) but records nothing: for side-effect-free probe endpoints only. */
  check(req: EngineAuthRequest): EngineAuthResult;
  readonly acceptedKeyIds: string[];
  /** Nonces currently remembered (for metrics). */
  readonly replayCacheSize: number;
}

/**
 * Build the verifier TTTranscribe runs on every request. Checks, in order: header present, parsable, version v1,
 * timestamp within `toleranceSec`, a signature under an accepted kid, that signature correct, nonce unseen.
 * The replay cache is in memory and per process: with several replicas a nonce replayed to another replica is
 * only stopped by the timestamp window, so keep one replica or share the cache if that matters.
 *
 * @example
 * const verifier = createEngineAuthVerifier({ keys: engineAuthKeysFromEnv(process.env) });
 * const result = verifier.verify({ header: req.get('x-engine-auth'), method: req.method, target: req.originalUrl,
 *   body: rawBody, bearerToken: bearerTokenFromAuthorization(req.get('authorization')) });
 * if (!result.ok) throw new ApiError(result.code, result.message, { details: result.details });
 */
export function createEngineAuthVerifier(options: EngineAuthVerifierOptions): EngineAuthVerifier {
  const { toleranceSec = 300, replayWindowSec = 600, now = Date.now, maxNonces = 100_000 } = options;
  if (options.keys.length === 0) throw new TypeError('createEngineAuthVerifier needs at least one key');
  if (!(maxNonces >= 1)) throw new RangeError('maxNonces must be at least 1');
  const keys = new Map(options.keys.map((k) => [k.keyId, k.key]));
  const acceptedKeyIds = [...keys.keys()];
  const seen = new Map<string, number>(); // nonce -> expiry (ms); insertion order ≈ expiry order

  function remember(nonce: string, timestamp: number, nowMs: number): void {
    seen.delete(nonce);
    for (const [n, expiresAt] of seen) {
      if (expiresAt > nowMs && seen.size < maxNonces) break;
      seen.delete(n);
    }
    // Also cover the whole time the header's timestamp passes the skew check, so no replay slips through a gap.
    seen.set(nonce, Math.max(nowMs + replayWindowSec * 1000, (timestamp + toleranceSec + 1) * 1000));
  }

  function run(req: EngineAuthRequest, record: boolean): EngineAuthResult {
    const fail = (code: EngineAuthFailureCode, message: string, details: Record<string, unknown> = {}) =>
      ({ ok: false, code, message, details }) as const;
    if (req.header === undefined || req.header === '') {
      return fail('missing_engine_auth_header', 'X-Engine-Auth header is missing: the Business Engine must sign every '
        + 'request to TTTranscribe (check TTT_SHARED_SECRET on the engine and that no proxy strips the header).',
      { header: ENGINE_AUTH_HEADER, acceptedVersions: ['v1'] });
    }
    const parsed = parseEngineAuthHeader(req.header);
    if (!parsed.ok) {
      const message = parsed.reason === 'unsupported_version'
        ? `X-Engine-Auth ${parsed.problem} is not supported; this server accepts v1.`
        : `X-Engine-Auth header is malformed (${parsed.problem}); expected `
          + 'v1;t=<unix seconds>;n=<22 base64url chars>;sig=<kid>:<signature>.';
      return fail('invalid_engine_auth_header', message, { reason: parsed.reason, problem: parsed.problem });
    }
    const h = parsed.value;
    const nowMs = now();
    const serverTime = Math.floor(nowMs / 1000);
    if (Math.abs(serverTime - h.timestamp) > toleranceSec) {
      const diff = h.timestamp - serverTime;
      return fail('engine_auth_timestamp_skewed', `X-Engine-Auth timestamp is ${Math.abs(diff)}s ${diff > 0 ? 'ahead of' : 'behind'} `
        + `server time (tolerance ${toleranceSec}s): sync both hosts' clocks (NTP) and sign each request when it is sent.`,
      { serverTime, receivedTime: h.timestamp, toleranceSec });
    }
    const candidates = h.signatures.filter((s) => keys.has(s.keyId));
    const receivedKeyIds = h.signatures.map((s) => s.keyId);
    if (candidates.length === 0) {
      return fail('engine_auth_key_mismatch', `X-Engine-Auth is signed with key id(s) ${receivedKeyIds.join(', ')} but this `
        + `server accepts ${acceptedKeyIds.join(', ')}: TTT_SHARED_SECRET differs between the engine and TTTranscribe, `
        + 'or a rotation step was skipped.', { receivedKeyIds, acceptedKeyIds: [...acceptedKeyIds] });
    }
    const stringToSign = buildStringToSign({ ...req, timestamp: h.timestamp, nonce: h.nonce });
    // Check every candidate (no early exit) so timing does not reveal which one matched.
    let matched: string | undefined;
    for (const s of candidates) {
      const key = keys.get(s.keyId) as Uint8Array;
      if (constantTimeEqual(hmac(key, stringToSign), s.signature)) matched ??= s.keyId;
    }
    if (matched === undefined) {
      const checkedKeyIds = candidates.map((s) => s.keyId);
      return fail('invalid_engine_auth_header', `X-Engine-Auth signature does not match for key id(s) ${checkedKeyIds.join(', ')}: `
        + "compare the signer's string to sign with details.stringToSign (method, target exactly as sent, body bytes, "
        + 'bearer token); if they are equal the secrets differ.', { reason: 'signature_mismatch', stringToSign, checkedKeyIds });
    }
    const expiresAt = seen.get(h.nonce);
    if (expiresAt !== undefined && expiresAt > nowMs) {
      return fail('engine_auth_replayed', `X-Engine-Auth nonce was already used within the last ${replayWindowSec}s: `
        + 'sign every request, retries included, afresh.', { replayWindowSec });
    }
    if (record) remember(h.nonce, h.timestamp, nowMs);
    return { ok: true, keyId: matched };
  }

  return {
    verify: (req) => run(req, true),
    check: (req) => run(req, false),
    acceptedKeyIds,
    get replayCacheSize() {
      return seen.size;
    },
  };
}

// KeyObjects are imported once per key, keyed by the key's bytes object (so do not mutate a key after use).
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function hmac(key: Uint8Array, data: string): string {
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return createHmac('sha256', keyObject).update(data).digest('base64url');
}
