import type { Request, Response } from 'express';
import { RateLimits, type RateLimitKey } from '../shared/rate-limit/rate-limits.js';
import type { RateLimiterStore } from '../shared/rate-limit/rate-limiter-store.js';

/** TTTranscribe's limits per caller per minute (TTT_RATE_LIMIT_ENGINE_PER_MIN, TTT_RATE_LIMIT_METRICS_PER_MIN). */
export interface TttRateLimitConfig {
  /** Per X-Engine-Auth key id: the engine carries every user's traffic, so this is large. */
  readonly enginePerMin: number;
  readonly metricsPerMin: number;
}

export const DEFAULT_TTT_RATE_LIMITS: TttRateLimitConfig = { enginePerMin: 6000, metricsPerMin: 60 };

/**
 * TTTranscribe's rate-limit policies (`engine` and `metrics`, per minute) in the store given (memory by default),
 * named as the spec's `x-rate-limit` names them.
 *
 * @example
 * const limits = tttRateLimits(config.rateLimits ?? DEFAULT_TTT_RATE_LIMITS);
 * operations.getJobStatus = { auth: [signedByEngine, limits.limit('engine', tttCallerKey)], handler };
 */
export function tttRateLimits(rates: TttRateLimitConfig, store?: RateLimiterStore): RateLimits {
  return new RateLimits(
    {
      engine: { limit: rates.enginePerMin, windowSec: 60 },
      metrics: { limit: rates.metricsPerMin, windowSec: 60 },
    },
    store,
  );
}

/**
 * Who a TTTranscribe request is counted against once its credential check passed: the engine's X-Engine-Auth
 * key id (`engine:<kid>`), or `metrics` for the metrics token.
 *
 * @example
 * limits.limit('engine', tttCallerKey);
 */
export const tttCallerKey: RateLimitKey = (req: Request, res: Response) => {
  const keyId = res.locals['engineKeyId'] as string | undefined;
  if (keyId !== undefined) return `engine:${keyId}`;
  if (res.locals['subject'] === 'metrics') return 'metrics';
  return `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
};
