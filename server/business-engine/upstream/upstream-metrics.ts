import { Gauge, Histogram, type Registry } from 'prom-client';

/** A circuit breaker's state as the gauge encodes it. */
export type CircuitState = 'closed' | 'half_open' | 'open';

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** Records one call to an upstream: which operation, how it ended, how long it took. */
export type UpstreamObserver = (operation: string, outcome: string, seconds: number) => void;

/**
 * Registers the metrics of calls to one upstream: `upstream_request_duration_seconds{upstream,operation,outcome}`
 * (a histogram; outcome is `ok` or the failure kind, `circuit_open` when the breaker answered without a call) and
 * `circuit_breaker_state{upstream}` (0 closed, 1 half-open, 2 open, read at scrape time).
 *
 * @example
 * const observe = registerUpstreamMetrics(metrics.registry, { upstream: 'tttranscribe', circuitState: () => upstream.circuitState });
 * observe('submit', 'ok', 0.012);
 */
export function registerUpstreamMetrics(
  registry: Registry,
  options: { upstream: string; circuitState: () => CircuitState },
): UpstreamObserver {
  const duration = new Histogram({
    name: 'upstream_request_duration_seconds',
    help: 'Calls to an upstream service, by operation and outcome (ok, or why it failed).',
    labelNames: ['upstream', 'operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'circuit_breaker_state',
    help: 'State of the circuit to an upstream: 0 closed, 1 half-open, 2 open.',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      this.set({ upstream: options.upstream }, CIRCUIT_VALUE[options.circuitState()]);
    },
  });
  return (operation, outcome, seconds) => duration.observe({ upstream: options.upstream, operation, outcome }, seconds);
}
