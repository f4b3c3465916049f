import type { RequestHandler } from 'express';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../../shared/errors/api-error.js';
import { callerOf } from '../auth/caller.js';

const WINDOW_SEC = 60;

/**
 * A per-user limit of `perMinute` requests per operation (rate-limiter-flexible; in memory unless `limiter` is
 * given, e.g. the engine store's shared one). Runs after the credential check, keyed by the caller's user id; over
 * the limit it answers `rate_limited` with Retry-After.
 *
 * @example
 * operations.vendToken = { auth: [requireUser(authDeps, ['ttt:transcribe']), perUserRateLimit('vend', 30)], handler };
 */
export function perUserRateLimit(name: string, perMinute: number, limiter: RateLimiterAbstract = new RateLimiterMemory({ keyPrefix: name, points: perMinute, duration: WINDOW_SEC })): RequestHandler {
  return async (_req, res, next) => {
    const caller = callerOf(res, 'user', 'service_token');
    try {
      await limiter.consume(caller.userId);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const retryAfterSec = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
      throw new ApiError('rate_limited', `Too many requests; retry in ${retryAfterSec} seconds.`, {
        details: { retryAfterSec, limit: perMinute, windowSec: WINDOW_SEC },
        headers: { 'Retry-After': String(retryAfterSec) },
      });
    }
    next();
  };
}
