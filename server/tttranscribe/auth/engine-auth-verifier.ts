import {
  ENGINE_AUTH_HEADER,
  buildStringToSign,
  constantTimeEqual,
  hmacBase64url,
  parseEngineAuthHeader,
  type EngineAuthKey,
  type StringToSignInput,
} from '../../protocol/engine-auth.js';

export type EngineAuthFailureCode =
  | 'missing_engine_auth_header'
  | 'invalid_engine_auth_header'
  | 'engine_auth_key_mismatch'
  | 'engine_auth_timestamp_skewed'
  | 'engine_auth_replayed';

export type EngineAuthResult =
  | { readonly ok: true; readonly keyId: string }
  | {
      readonly ok: false;
      readonly code: EngineAuthFailureCode;
      readonly message: string;
      readonly details: Record<string, unknown>;
    };

/** What the server saw; `target` is the raw request target (Express: `req.originalUrl`), `body` the raw bytes. */
export interface EngineAuthRequest extends Omit<StringToSignInput, 'timestamp' | 'nonce'> {
  readonly header: string | undefined;
}

/**
 * Where spent nonces live: in process memory (one replica) or a table every replica shares. `remember` is the
 * replay decision itself (an insert that fails on a live duplicate), so two replicas cannot both accept a nonce.
 * The nonce alone is the key (128 random bits), not the key id that matched: during a secret rotation replicas
 * accepting {old, new} and {new} match different key ids, and one captured header must still be spent once.
 */
export interface EngineAuthNonceStore {
  /** Records the nonce until `expiresAtMs`; false when it is already recorded and not expired (a replay). */
  remember(nonce: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
  /** Whether the nonce is recorded and not expired (records nothing). */
  seen(nonce: string, nowMs: number): Promise<boolean>;
}

export interface EngineAuthVerifierOptions {
  /** Accepted keys, current first (`TTT_SHARED_SECRET`, then `TTT_SHARED_SECRET_NEXT`). */
  readonly keys: readonly EngineAuthKey[];
  readonly toleranceSec?: number;
  /** How long a nonce is remembered; never less than its timestamp stays within tolerance, whatever this says. */
  readonly replayWindowSec?: number;
  /** Clock in milliseconds. */
  readonly now?: () => number;
  /** Replay-cache cap of the default in-memory store (default 100 000 ≈ 166 req/s sustained over 600 s). */
  readonly maxNonces?: number;
  /** The spent-nonce store (default: in this process's memory, {@link createMemoryNonceStore}). */
  readonly nonceStore?: EngineAuthNonceStore;
}

export interface EngineAuthVerifier {
  /** Verify and, on success, record the nonce so it is rejected for `replayWindowSec`. */
  verify(req: EngineAuthRequest): Promise<EngineAuthResult>;
  /** Same checks (a seen nonce still fails) but records nothing: for side-effect-free probe endpoints only. */
  check(req: EngineAuthRequest): Promise<EngineAuthResult>;
  readonly acceptedKeyIds: string[];
}

/**
 * Build the verifier TTTranscribe runs on every request. Checks, in order: header present, parsable, version v1,
 * timestamp within `toleranceSec`, a signature under an accepted kid, that signature correct, nonce unseen.
 * Spent nonces go to `nonceStore`; the default is this process's memory, so with several replicas inject a shared
 * store (TTTranscribe keeps them in its database), or a nonce replayed to another replica is accepted.
 *
 * @example
 * const verifier = createEngineAuthVerifier({ keys: engineAuthKeysFromEnv(process.env) });
 * const result = await verifier.verify({ header: req.get('x-engine-auth'), method: req.method, target: req.originalUrl,
 *   body: rawBody, bearerToken: bearerTokenFromAuthorization(req.get('authorization')) });
 * if (!result.ok) throw new ApiError(result.code, result.message, { details: result.details });
 */
export function createEngineAuthVerifier(options: EngineAuthVerifierOptions): EngineAuthVerifier {
  const { toleranceSec = 300, replayWindowSec = 600, now = Date.now, maxNonces = 100_000 } = options;
  if (options.keys.length === 0) throw new TypeError('createEngineAuthVerifier needs at least one key');
  const nonces = options.nonceStore ?? createMemoryNonceStore({ maxNonces });
  const keys = new Map(options.keys.map((k) => [k.keyId, k.key]));
  const acceptedKeyIds = [...keys.keys()];

  async function run(req: EngineAuthRequest, record: boolean): Promise<EngineAuthResult> {
    const fail = (code: EngineAuthFailureCode, message: string, details: Record<string, unknown> = {}) =>
      ({ ok: false, code, message, details }) as const;
    if (req.header === undefined || req.header === '') {
      return fail(
        'missing_engine_auth_header',
        'X-Engine-Auth header is missing: the Business Engine must sign every ' +
          'request to TTTranscribe (check TTT_SHARED_SECRET on the engine and that no proxy strips the header).',
        { header: ENGINE_AUTH_HEADER, acceptedVersions: ['v1'] },
      );
    }
    const parsed = parseEngineAuthHeader(req.header);
    if (!parsed.ok) {
      const message =
        parsed.reason === 'unsupported_version'
          ? `X-Engine-Auth ${parsed.problem} is not supported; this server accepts v1.`
          : `X-Engine-Auth header is malformed (${parsed.problem}); expected ` +
            'v1;t=<unix seconds>;n=<22 base64url chars>;sig=<kid>:<signature>.';
      return fail('invalid_engine_auth_header', message, { reason: parsed.reason, problem: parsed.problem });
    }
    const h = parsed.value;
    const nowMs = now();
    const serverTime = Math.floor(nowMs / 1000);
    if (Math.abs(serverTime - h.timestamp) > toleranceSec) {
      const diff = h.timestamp - serverTime;
      return fail(
        'engine_auth_timestamp_skewed',
        `X-Engine-Auth timestamp is ${Math.abs(diff)}s ${diff > 0 ? 'ahead of' : 'behind'} ` +
          `server time (tolerance ${toleranceSec}s): sync both hosts' clocks (NTP) and sign each request when it is sent.`,
        { serverTime, receivedTime: h.timestamp, toleranceSec },
      );
    }
    const candidates = h.signatures.filter((s) => keys.has(s.keyId));
    const receivedKeyIds = h.signatures.map((s) => s.keyId);
    if (candidates.length === 0) {
      return fail(
        'engine_auth_key_mismatch',
        `X-Engine-Auth is signed with key id(s) ${receivedKeyIds.join(', ')} but this ` +
          `server accepts ${acceptedKeyIds.join(', ')}: TTT_SHARED_SECRET differs between the engine and TTTranscribe, ` +
          'or a rotation step was skipped.',
        { receivedKeyIds, acceptedKeyIds: [...acceptedKeyIds] },
      );
    }
    const stringToSign = buildStringToSign({ ...req, timestamp: h.timestamp, nonce: h.nonce });
    // Check every candidate (no early exit) so timing does not reveal which one matched.
    let matched: string | undefined;
    for (const s of candidates) {
      const key = keys.get(s.keyId) as Uint8Array;
      if (constantTimeEqual(hmacBase64url(key, stringToSign), s.signature)) matched ??= s.keyId;
    }
    if (matched === undefined) {
      const checkedKeyIds = candidates.map((s) => s.keyId);
      return fail(
        'invalid_engine_auth_header',
        `X-Engine-Auth signature does not match for key id(s) ${checkedKeyIds.join(', ')}: ` +
          "compare the signer's string to sign with details.stringToSign (method, target exactly as sent, body bytes, " +
          'bearer token); if they are equal the secrets differ.',
        { reason: 'signature_mismatch', stringToSign, checkedKeyIds },
      );
    }
    // Also cover the whole time the header's timestamp passes the skew check, so no replay slips through a gap.
    const expiresAt = Math.max(nowMs + replayWindowSec * 1000, (h.timestamp + toleranceSec + 1) * 1000);
    const fresh = record ? await nonces.remember(h.nonce, expiresAt, nowMs) : !(await nonces.seen(h.nonce, nowMs));
    if (!fresh) {
      return fail(
        'engine_auth_replayed',
        `X-Engine-Auth nonce was already used within the last ${replayWindowSec}s: ` +
          'sign every request, retries included, afresh.',
        { replayWindowSec },
      );
    }
    return { ok: true, keyId: matched };
  }

  return {
    verify: (req) => run(req, true),
    check: (req) => run(req, false),
    acceptedKeyIds,
  };
}

/**
 * The in-process nonce store: enough for one replica (a restart forgets it, the timestamp window still holds).
 * When `maxNonces` are held, the oldest is dropped.
 *
 * @example
 * const verifier = createEngineAuthVerifier({ keys, nonceStore: createMemoryNonceStore({ maxNonces: 10_000 }) });
 */
export function createMemoryNonceStore(
  options: { maxNonces?: number } = {},
): EngineAuthNonceStore & { readonly size: number } {
  const { maxNonces = 100_000 } = options;
  if (!(maxNonces >= 1)) throw new RangeError('maxNonces must be at least 1');
  const seen = new Map<string, number>(); // nonce -> expiry (ms); insertion order ≈ expiry order
  const live = (nonce: string, nowMs: number) => (seen.get(nonce) ?? -Infinity) > nowMs;
  return {
    async remember(nonce, expiresAtMs, nowMs) {
      if (live(nonce, nowMs)) return false;
      seen.delete(nonce);
      for (const [n, expiresAt] of seen) {
        if (expiresAt > nowMs && seen.size < maxNonces) break;
        seen.delete(n);
      }
      seen.set(nonce, expiresAtMs);
      return true;
    },
    async seen(nonce, nowMs) {
      return live(nonce, nowMs);
    },
    get size() {
      return seen.size;
    },
  };
}
