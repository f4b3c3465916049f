import type { Request, Response } from 'express';
import { RateLimits, type RateLimitKey } from '../../shared/rate-limit/rate-limits.js';
import type { RateLimiterStore } from '../../shared/rate-limit/rate-limiter-store.js';
import type { Caller } from '../auth/caller.js';
import type { EngineConfig } from '../config.js';

const MINUTE = 60;

/**
 * The Business Engine's rate-limit policies (per caller, per minute, from RATE_LIMIT_*_PER_MIN), in the store
 * given (memory by default). The policy names are those the spec states in each operation's `x-rate-limit`.
 *
 * @example
 * const limits = engineRateLimits(config.rateLimits);
 * operations.vendToken = { auth: [requireUser(...), limits.limit('vend', engineCallerKey)], handler };
 */
export function engineRateLimits(rates: EngineConfig['rateLimits'], store?: RateLimiterStore): RateLimits {
  return new RateLimits(
    {
      vend: { limit: rates.vendPerMin, windowSec: MINUTE },
      transcribe: { limit: rates.transcribePerMin, windowSec: MINUTE },
      read: { limit: rates.readPerMin, windowSec: MINUTE },
      integrations: { limit: rates.integrationsPerMin, windowSec: MINUTE },
      admin: { limit: rates.adminPerMin, windowSec: MINUTE },
      health: { limit: rates.healthPerMin, windowSec: MINUTE },
    },
    store,
  );
}

/**
 * Who a request is counted against, once its credential check passed: the user (`user:<sub>`, also for the
 * service token it paid for), the integration token (`integration:<tokenId>`, so one leaked token cannot use up
 * its user's allowance), `admin` or `metrics`. Without a credential: the client address.
 *
 * @example
 * limits.limit('read', engineCallerKey);
 */
export const engineCallerKey: RateLimitKey = (req: Request, res: Response) => {
  const caller = res.locals['caller'] as Caller | undefined;
  if (!caller) return `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
  switch (caller.kind) {
    case 'user':
      return caller.integrationTokenId === undefined
        ? `user:${caller.userId}`
        : `integration:${caller.integrationTokenId}`;
    case 'service_token':
      return `user:${caller.userId}`;
    case 'admin':
      return 'admin';
    case 'metrics_reader':
      return 'metrics';
  }
};
