import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** What a limiter is built from: one policy's key prefix, its allowance and its window. */
export interface LimiterOptions {
  readonly keyPrefix: string;
  /** Requests allowed per window. */
  readonly points: number;
  /** The window in seconds. */
  readonly duration: number;
}

/**
 * Where counters live: builds one rate-limiter-flexible limiter per policy. The default keeps counters in
 * memory; a service whose database is shared between instances passes one that builds, say, a
 * `RateLimiterPostgres` on its pool, and nothing else changes.
 *
 * @example
 * const store: RateLimiterStore = (o) => new RateLimiterPostgres({ storeClient: pool, tableName: 'rate_limits', ...o });
 */
export type RateLimiterStore = (options: LimiterOptions) => RateLimiterAbstract;

/**
 * Counters in this process's memory (the default; fine for one instance).
 *
 * @example
 * const limiter = memoryRateLimiterStore({ keyPrefix: 'read', points: 120, duration: 60 });
 */
export const memoryRateLimiterStore: RateLimiterStore = (options) => new RateLimiterMemory({ ...options });
