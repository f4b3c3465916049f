import { LRUCache } from 'lru-cache';

/** Options of a {@link VerifiedTokenCache}. */
export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered (least recently used go first); 0 disables the cache. */
  readonly max: number;
  /** The verifier's clock tolerance: the validity window is widened by it on both sides, as jose does. */
  readonly clockToleranceSec: number;
  /** Forget an entry after this long whatever its expiry (e.g. so a withdrawn JWKS key stops being trusted). */
  readonly ttlMs?: number;
}

interface Entry<T> {
  readonly value: T;
  readonly notBefore: number;
  readonly expiresAt: number;
}

/**
 * Remembers what a signed token verified to, keyed by the whole token (signature included, so a token differing
 * in any byte is a miss). A hit is returned only while the token is well inside its validity window
 * (`notBefore - tolerance + 1 <= now < expiresAt + tolerance - 1`, seconds); outside it the entry is dropped and the
 * caller verifies in full, so refusals (expired, not yet valid) always come from the real verification. Only
 * successful verifications are stored.
 *
 * @example
 * const cache = new VerifiedTokenCache<UserClaims>({ max: 10_000, clockToleranceSec: 30 });
 * const hit = cache.get(token, Date.now());
 * if (!hit) cache.set(token, await verify(token), { notBefore: claims.iat, expiresAt: claims.exp });
 */
export class VerifiedTokenCache<T extends object> {
  private readonly entries: LRUCache<string, Entry<T>> | undefined;

  constructor(private readonly options: VerifiedTokenCacheOptions) {
    if (!Number.isInteger(options.max) || options.max < 0)
      throw new Error(`VerifiedTokenCache: max must be an integer >= 0, got ${options.max}`);
    if (!(options.clockToleranceSec >= 0)) throw new Error('VerifiedTokenCache: clockToleranceSec must be >= 0');
    this.entries =
      options.max === 0
        ? undefined
        : new LRUCache<string, Entry<T>>({
            max: options.max,
            ...(options.ttlMs === undefined ? {} : { ttl: options.ttlMs }),
          });
  }

  /** The remembered value when `nowMs` is inside the token's validity window, else undefined. */
  get(token: string, nowMs: number): T | undefined {
    const entry = this.entries?.get(token);
    if (!entry) return undefined;
    if (!wellInsideValidity(nowMs, entry, this.options.clockToleranceSec)) {
      this.entries?.delete(token);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers a verified token; `notBefore` and `expiresAt` are its `nbf`/`iat` and `exp` (seconds). */
  set(token: string, value: T, window: { notBefore: number; expiresAt: number }): void {
    this.entries?.set(token, { value, notBefore: window.notBefore, expiresAt: window.expiresAt });
  }

  /** How many tokens are remembered. */
  get size(): number {
    return this.entries?.size ?? 0;
  }
}

/**
 * Whether `nowMs` is at least a second inside a token's validity window widened by `toleranceSec` on both sides
 * (`notBefore - tolerance + 1 <= now < expiresAt + tolerance - 1`, seconds). jose compares whole seconds, so the
 * cache answers only this far inside, and leaves the edges to the full verification.
 */
function wellInsideValidity(
  nowMs: number,
  window: { readonly notBefore: number; readonly expiresAt: number },
  toleranceSec: number,
): boolean {
  const nowSec = nowMs / 1000;
  return nowSec >= window.notBefore - toleranceSec + 1 && nowSec < window.expiresAt + toleranceSec - 1;
}
