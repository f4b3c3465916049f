import { decodeJwt } from 'jose';
import { localError, type TokenRefreshFailedError } from './errors.js';

const SHARED_SECRET_PREFIX = 'tttsk_';

/**
 * Supplies the user JWT: returns a token, fetching a new one when asked (the SDK only calls it when the cached
 * token is about to expire or was rejected as expired). It may throw; the SDK then resolves with
 * `token_refresh_failed` instead of throwing.
 *
 * @example
 * const getUserToken: GetUserToken = async () => {
 *   const res = await fetch('https://auth.example.com/session/token', { method: 'POST', credentials: 'include' });
 *   if (!res.ok) throw new Error(`auth backend answered ${res.status}`);
 *   return ((await res.json()) as { token: string }).token;
 * };
 */
export type GetUserToken = () => Promise<string>;

export interface TokenManagerOptions {
  getUserToken: GetUserToken;
  /** Clock in milliseconds (default `Date.now`, read at each call so fake timers apply). */
  now?: () => number;
  /** Never refresh ahead more often than this (default 10 s); a rejected token is always refreshed. */
  minRefreshIntervalMs?: number;
}

export type TokenOutcome = { ok: true; token: string } | { ok: false; error: TokenRefreshFailedError };

/** Caches the user JWT, refreshes it ahead of expiry and shares one refresh between concurrent callers. */
export interface TokenManager {
  /** The cached token, or a refreshed one when less than {@link refreshThresholdMs} of it remains. */
  get(requestId: string): Promise<TokenOutcome>;
  /** After the server answered `token_expired` for `rejected`: one shared refresh (or the token another caller got). */
  refreshAfterRejection(rejected: string, requestId: string): Promise<TokenOutcome>;
  /** How many times `getUserToken` was called (for metrics and tests). */
  readonly refreshCount: number;
}

const MIN_THRESHOLD_MS = 60_000;

/**
 * How long before expiry a token is refreshed: max(60 s, a third of its lifetime).
 *
 * @example
 * refreshThresholdMs(15 * 60_000); // 300000 (5 minutes)
 * refreshThresholdMs(2 * 60_000);  // 60000
 */
export function refreshThresholdMs(lifetimeMs: number | undefined): number {
  return Math.max(MIN_THRESHOLD_MS, (lifetimeMs ?? 0) / 3);
}

/** A cached user token and what the SDK knows about its lifetime. */
export interface CachedToken {
  readonly token: string;
  readonly fetchedAt: number;
  /** Local-clock estimate of expiry; undefined when the token has no `exp` (or is not a JWT). */
  readonly expiresAt: number | undefined;
  readonly lifetimeMs: number | undefined;
}

/**
 * Decodes `exp`/`iat` (no verification: the server verifies) into a local-clock expiry estimate.
 * With `iat`, the expiry is the earlier of `exp` and fetch time + (exp - iat): a client clock that runs behind
 * the issuer's would otherwise make the token look fresher than it is.
 *
 * @example
 * describeToken(jwt, Date.now()).expiresAt; // ms on the local clock, or undefined without `exp`
 */
export function describeToken(token: string, fetchedAt: number): CachedToken {
  let exp: number | undefined;
  let iat: number | undefined;
  try {
    const claims = decodeJwt(token);
    exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    iat = typeof claims.iat === 'number' ? claims.iat : undefined;
  } catch {
    // Not a JWT: cache it until the server rejects it.
  }
  if (exp === undefined) return { token, fetchedAt, expiresAt: undefined, lifetimeMs: undefined };
  const lifetimeMs = iat !== undefined && exp > iat ? (exp - iat) * 1000 : undefined;
  const byClaim = exp * 1000;
  const expiresAt = lifetimeMs === undefined ? byClaim : Math.min(byClaim, fetchedAt + lifetimeMs);
  return { token, fetchedAt, expiresAt, lifetimeMs };
}

/**
 * Creates the token manager behind every user-JWT call of the SDK.
 *
 * @example
 * const tokens = createTokenManager({ getUserToken });
 * const outcome = await tokens.get('req_0123456789');
 * if (outcome.ok) headers.authorization = `Bearer ${outcome.token}`;
 */
export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const now = options.now ?? (() => Date.now());
  const minInterval = options.minRefreshIntervalMs ?? 10_000;
  let cached: CachedToken | undefined;
  let inflight: Promise<TokenOutcome> | undefined;
  let refreshCount = 0;

  async function fetchToken(requestId: string): Promise<TokenOutcome> {
    refreshCount += 1;
    try {
      const token = await options.getUserToken();
      if (typeof token !== 'string' || token.trim() === '')
        throw new TypeError('getUserToken resolved without a token');
      // A server-side secret must never travel as a bearer token (it would be logged and leaked by every hop).
      if (token.trim().startsWith(SHARED_SECRET_PREFIX)) {
        throw new TypeError(
          'getUserToken returned a TTTranscribe shared secret (tttsk_…), not a user JWT; it was not sent. Rotate it if it was ever sent anywhere',
        );
      }
      cached = describeToken(token.trim(), now());
      return { ok: true, token: cached.token };
    } catch (cause) {
      // A refresh ahead of expiry may fail while the old token still works: keep using it.
      if (cached && (cached.expiresAt === undefined || cached.expiresAt > now()))
        return { ok: true, token: cached.token };
      const message = cause instanceof Error ? cause.message : String(cause);
      return {
        ok: false,
        error: localError(
          'token_refresh_failed',
          requestId,
          `getUserToken failed: ${message}`,
          "Check the app's sign-in: getUserToken must resolve with the user's JWT.",
          { cause },
        ),
      };
    }
  }

  // Single flight: every caller that needs a token while a refresh runs awaits that same refresh.
  function refresh(requestId: string): Promise<TokenOutcome> {
    if (inflight) return inflight;
    const pending: Promise<TokenOutcome> = fetchToken(requestId).finally(() => {
      if (inflight === pending) inflight = undefined;
    });
    inflight = pending;
    return pending;
  }

  function needsRefresh(entry: CachedToken, at: number): boolean {
    if (entry.expiresAt === undefined) return false;
    if (at - entry.fetchedAt < minInterval) return false;
    return entry.expiresAt - at < refreshThresholdMs(entry.lifetimeMs);
  }

  return {
    async get(requestId) {
      if (inflight) return inflight;
      if (cached && !needsRefresh(cached, now())) return { ok: true, token: cached.token };
      return refresh(requestId);
    },
    async refreshAfterRejection(rejected, requestId) {
      if (inflight) return inflight;
      if (cached && cached.token !== rejected) return { ok: true, token: cached.token };
      // Forget the rejected token so a failed refresh cannot hand it out again.
      cached = undefined;
      return refresh(requestId);
    },
    get refreshCount() {
      return refreshCount;
    },
  };
}
