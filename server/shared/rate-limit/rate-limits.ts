import type { Request, RequestHandler, Response } from 'express';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { databaseUnavailable, isPgUnavailable } from '../db/postgres-unavailable.js';
import { ApiError } from '../errors/api-error.js';
import { memoryRateLimiterStore, type RateLimiterStore } from './rate-limiter-store.js';

/** One named limit: `limit` requests per `windowSec` seconds for each caller. */
export interface RateLimitPolicy {
  readonly limit: number;
  readonly windowSec: number;
}

/** Who is counted: a stable key for the caller of this request (`user:<sub>`, `admin`, `ip:<address>`...). */
export type RateLimitKey = (req: Request, res: Response) => string;

const POLICY_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** Retry-After when the counters' database is out of reach (as the job and engine stores answer). */
const STORE_RETRY_AFTER_SEC = 2;

/** The limiter store's failure as a catalog error, keeping it as `cause`: a lost database is a retryable 503. */
function storeFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isPgUnavailable(error)) {
    return databaseUnavailable('The rate-limit store is unreachable; retry shortly.', STORE_RETRY_AFTER_SEC, error);
  }
  return new ApiError('internal_error', 'The rate limit could not be checked.', { cause: error });
}

/**
 * The one place a service's rate limits are built: every named policy gets one limiter from the store
 * (memory by default, see {@link RateLimiterStore}), and `limit(name, keyOf)` gives the middleware an
 * operation runs after its credential check. Every answer that passed through it carries the IETF httpapi
 * ratelimit-headers draft's `RateLimit-Policy` (`"read";q=120;w=60`) and `RateLimit` (`"read";r=119;t=60`);
 * over the limit it answers `429 rate_limited` with `Retry-After` and the same headers. A store whose database is
 * out of reach answers `503 service_unavailable` with `Retry-After`; any other store failure `internal_error`.
 *
 * @example
 * const limits = new RateLimits({ read: { limit: 120, windowSec: 60 } });
 * operations.getCreditBalance = { auth: [requireUser(deps, scopes), limits.limit('read', engineCallerKey)], handler };
 */
export class RateLimits {
  readonly #limiters = new Map<string, { policy: RateLimitPolicy; limiter: RateLimiterAbstract }>();

  constructor(policies: Readonly<Record<string, RateLimitPolicy>>, store: RateLimiterStore = memoryRateLimiterStore) {
    for (const [name, policy] of Object.entries(policies)) {
      if (!POLICY_NAME.test(name))
        throw new Error(`rate-limit policy name ${JSON.stringify(name)} must match ${POLICY_NAME}`);
      if (!Number.isInteger(policy.limit) || policy.limit < 1)
        throw new Error(`rate-limit policy ${name}: limit must be a whole number >= 1`);
      if (!Number.isInteger(policy.windowSec) || policy.windowSec < 1)
        throw new Error(`rate-limit policy ${name}: windowSec must be a whole number >= 1`);
      this.#limiters.set(name, {
        policy,
        limiter: store({ keyPrefix: `rl:${name}`, points: policy.limit, duration: policy.windowSec }),
      });
    }
  }

  /** The policy behind a name (for docs and tests). */
  policy(name: string): RateLimitPolicy {
    return this.#entry(name).policy;
  }

  /**
   * Middleware that counts one request for `keyOf(req, res)` under the named policy.
   *
   * @example
   * const vendLimit = limits.limit('vend', (_req, res) => `user:${callerOf(res, 'user').userId}`);
   */
  limit(name: string, keyOf: RateLimitKey): RequestHandler {
    const { policy, limiter } = this.#entry(name);
    const policyHeader = `"${name}";q=${policy.limit};w=${policy.windowSec}`;
    return async (req, res, next) => {
      const key = keyOf(req, res);
      let outcome: RateLimiterRes;
      let refused = false;
      try {
        outcome = await limiter.consume(key);
      } catch (error) {
        // The store's own failure (e.g. its database is down) is not the caller's doing: never rate_limited.
        if (!(error instanceof RateLimiterRes)) throw storeFailure(error);
        outcome = error;
        refused = true;
      }
      const resetSec = Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
      res.setHeader('RateLimit-Policy', policyHeader);
      res.setHeader('RateLimit', `"${name}";r=${Math.max(0, outcome.remainingPoints)};t=${resetSec}`);
      if (refused) {
        throw new ApiError('rate_limited', `Too many requests; retry in ${resetSec} seconds.`, {
          details: { retryAfterSec: resetSec, limit: policy.limit, windowSec: policy.windowSec },
          headers: { 'Retry-After': String(resetSec) },
        });
      }
      next();
    };
  }

  #entry(name: string) {
    const entry = this.#limiters.get(name);
    if (!entry) throw new Error(`no rate-limit policy named ${JSON.stringify(name)}`);
    return entry;
  }
}
