import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { metricsHandler } from '../../shared/observability/service-metrics.js';

/**
 * GET /metrics: the engine's Prometheus metrics (requests, auth failures, upstream latency, circuit state,
 * credits charged and refunded, process), for ENGINE_METRICS_TOKEN or the admin token.
 *
 * @example
 * operations.getMetrics = { auth: requireMetricsReader(authDeps), handler: getMetrics({ registry: metrics.registry }) };
 */
export function getMetrics(deps: { registry: Registry }): RequestHandler {
  return metricsHandler(deps.registry);
}
