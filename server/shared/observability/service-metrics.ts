import type { Request, RequestHandler, Response } from 'express';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { ClientAbortObserver, ErrorObserver } from '../errors/error-handler.js';

/** The route label of a request that matched no operation (a bounded value instead of the raw path). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The metrics every Pluct service has, on a registry of its own. */
export interface ServiceMetrics {
  /** This app instance's registry (never prom-client's global one, so many apps in one process do not collide). */
  readonly registry: Registry;
  /** http_requests_total{route,method,status}: every answered request, route = operationId. */
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  /** auth_failures_total{code,route}: every 401 and 403, by catalog code. */
  readonly authFailures: Counter<'code' | 'route'>;
  /** client_aborted_requests_total{route,method}: requests whose client went away before the body arrived. */
  readonly clientAbortedRequests: Counter<'route' | 'method'>;
  /** createServiceApp's `onClientAbort`: counts each aborted request by route. */
  readonly countClientAbort: ClientAbortObserver;
  /** For createServiceApp's `onResponse`: counts each answered request. */
  // Typed by shape, not by importing http/'s ResponseObserver: http/ logs through observability/, not back.
  readonly countResponse: (req: Request, res: Response) => void;
  /** createServiceApp's `onError`: counts 401/403 answers by code and route. */
  readonly countAuthFailures: ErrorObserver;
}

/**
 * Creates the metrics of one service instance: a fresh prom-client Registry whose every series carries
 * `service="<name>"`, the process metrics (CPU, memory, event loop lag, GC...), request and auth-failure
 * counters, and the middleware and error observer that feed them. Service-specific metrics register on the
 * same `registry`.
 *
 * @example
 * const metrics = createServiceMetrics({ service: 'tttranscribe' });
 * createServiceApp({ ..., onResponse: [metrics.countResponse], onError: metrics.countAuthFailures, onClientAbort: metrics.countClientAbort });
 */
export function createServiceMetrics(options: { service: string; processMetrics?: boolean }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'Requests answered, by route (operationId), method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'auth_failures_total',
    help: 'Requests refused with 401 or 403, by catalog code and route.',
    labelNames: ['code', 'route'] as const,
    registers: [registry],
  });
  const clientAbortedRequests = new Counter({
    name: 'client_aborted_requests_total',
    help: 'Requests whose client aborted the body before it arrived (a client event: no answer, not a 5xx), by route and method.',
    labelNames: ['route', 'method'] as const,
    registers: [registry],
  });
  const routeOf = (locals: Record<string, unknown>): string => {
    const id = locals['operationId'];
    return typeof id === 'string' ? id : UNMATCHED_ROUTE;
  };
  return {
    registry,
    httpRequests,
    authFailures,
    clientAbortedRequests,
    countClientAbort: (req, res) => {
      clientAbortedRequests.inc({ route: routeOf(res.locals), method: req.method });
    },
    countResponse: (req, res) => {
      httpRequests.inc({ route: routeOf(res.locals), method: req.method, status: String(res.statusCode) });
    },
    countAuthFailures: (error, _req, res) => {
      if (error.status === 401 || error.status === 403)
        authFailures.inc({ code: error.code, route: routeOf(res.locals) });
    },
  };
}

/**
 * The handler of a `getMetrics` operation: the registry in the Prometheus text format (0.0.4), never cached.
 *
 * @example
 * operations.getMetrics = { auth: requireMetricsReader(authDeps), handler: metricsHandler(metrics.registry) };
 */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (_req, res) => {
    const body = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', registry.contentType);
    res.send(body);
  };
}
