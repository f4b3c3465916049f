import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { metricsHandler } from '../../shared/observability/service-metrics.js';

/**
 * GET /metrics: TTTranscribe's Prometheus metrics (requests, auth failures, jobs by state, process), for
 * TTT_METRICS_TOKEN.
 *
 * @example
 * operations.getMetrics = { auth: metricsTokenAuth(options), handler: getMetrics({ registry: metrics.registry }) };
 */
export function getMetrics(deps: { registry: Registry }): RequestHandler {
  return metricsHandler(deps.registry);
}
