import type { RequestHandler } from 'express';
import { ApiError } from '../errors/api-error.js';

/**
 * How long a refused client is told to wait: about the time a supervisor or load balancer needs to route it to
 * another (or the restarted) instance. The catalog's example for `service_unavailable` uses the same value.
 */
export const DRAIN_RETRY_AFTER_SEC = 5;

/** A service's shutdown switch: once begun, every new request is refused; requests already running finish. */
export interface Draining {
  /** True once {@link Draining.begin} was called. */
  readonly active: boolean;
  /** Starts refusing new requests. Idempotent; there is no way back (a drained instance is about to exit). */
  begin(): void;
  /**
   * For the `before` list of createServiceApp: while draining, answers every request with 503
   * `service_unavailable` (`details.reason: shutting_down`), `Retry-After` and `Connection: close`.
   */
  readonly middleware: RequestHandler;
}

/**
 * Creates the drain switch of one service instance. `server.close()` alone stops new connections only: a client
 * holding a keep-alive connection can still send requests until the server finally closes it. While draining,
 * those requests get a retryable 503 and `Connection: close`, so the client reconnects (to another instance)
 * instead of starting work this process may not live to finish.
 *
 * @example
 * const draining = createDraining();
 * const app = createServiceApp({ spec, logger, operations, before: [draining.middleware] });
 * // on SIGTERM:
 * draining.begin();
 * server.close();
 */
export function createDraining(options: { retryAfterSec?: number } = {}): Draining {
  const retryAfterSec = options.retryAfterSec ?? DRAIN_RETRY_AFTER_SEC;
  let active = false;
  return {
    get active() {
      return active;
    },
    begin() {
      active = true;
    },
    middleware: (_req, _res, next) => {
      if (!active) {
        next();
        return;
      }
      next(
        new ApiError(
          'service_unavailable',
          `The service is shutting down; retry in ${retryAfterSec} s on a new connection.`,
          {
            details: { retryAfterSec, reason: 'shutting_down' },
            headers: { 'Retry-After': String(retryAfterSec), Connection: 'close' },
          },
        ),
      );
    },
  };
}
