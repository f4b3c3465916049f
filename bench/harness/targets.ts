import type { Measurement, TargetResult } from './bench-result.js';

/** Measurement ids the targets read; scenarios must use these exact ids. */
export const MEASUREMENT_IDS = {
  bareHttp: 'limits.bare-http',
  bareProxyBare: 'limits.bare-proxy-to-bare-http',
  bareProxyTtt: 'limits.bare-proxy-to-tttranscribe',
  expressHello: 'limits.express-hello',
  tttTranscribe: 'services.ttt-transcribe',
  gatewayTranscribe: 'services.gateway-transcribe',
  vendToken: 'services.vend-token',
  creditBalance: 'services.credit-balance',
  circuitOpen: 'services.gateway-circuit-open',
  pacedTtt: 'fixed-rate.ttt-transcribe',
  pacedGateway: 'fixed-rate.gateway-transcribe',
  /** The floor of any proxy hop at the same rate: the gateway may add at most 2 ms more than it. */
  pacedBareProxy: 'fixed-rate.bare-proxy-to-tttranscribe',
  /** The least any durable, signing vend costs (bench/servers/bare-vend.ts). */
  bareVend: 'limits.bare-vend',
  /** The least any balance read that checks its caller costs (bench/servers/bare-balance.ts). */
  bareBalance: 'limits.bare-balance',
  vendSqlite: 'cluster.vend-sqlite',
  vendPostgres: 'cluster.vend-postgres',
  /** Not a target input: the gateway's submission on each backend, printed side by side. */
  submitSqlite: 'cluster.submit-sqlite',
  submitPostgres: 'cluster.submit-postgres',
  /** Not target inputs: jobs per second (x 60: per minute) with 1 and 2 TTTranscribe workers on a fixed-duration engine. */
  jobsOneWorker: 'cluster.jobs-1-worker',
  jobsTwoWorkers: 'cluster.jobs-2-workers',
} as const;

interface TargetDefinition {
  readonly id: string;
  readonly description: string;
  readonly threshold: number;
  readonly comparison: '>=' | '<=' | '<';
  readonly unit: 'x' | 'ms';
  readonly inputs: readonly string[];
  readonly compute: (m: (id: string) => Measurement) => number;
}

const ids = MEASUREMENT_IDS;

/** A throughput target: `measured` req/s over `baseline` req/s, both from the same run, at least `threshold`. */
function rpsRatio(
  id: string,
  description: string,
  threshold: number,
  measured: string,
  baseline: string,
): TargetDefinition {
  return {
    id,
    description,
    threshold,
    comparison: '>=',
    unit: 'x',
    inputs: [measured, baseline],
    compute: (m) => m(measured).rps / m(baseline).rps,
  };
}

/**
 * The targets (issue 21), each against a floor measured in the same run, so they hold on a machine whose speed
 * moves from hour to hour: the engine's vend and balance against the bare vend and balance (the least those
 * operations can cost), the gateway against a bare node:http proxy in front of the same TTTranscribe (req/s, and
 * the p50 each adds at a steady rate), and the circuit-open fast failure against TTTranscribe alone at that rate.
 */
export const TARGETS: readonly TargetDefinition[] = [
  rpsRatio('vend-vs-bare-vend', "POST /v1/vend-token req/s / the bare vend's req/s", 0.7, ids.vendToken, ids.bareVend),
  rpsRatio(
    'balance-vs-bare-balance',
    "GET /v1/credits/balance req/s / the bare balance's req/s",
    0.8,
    ids.creditBalance,
    ids.bareBalance,
  ),
  {
    id: 'gateway-added-p50',
    description:
      'p50 the gateway adds to a direct TTTranscribe call, minus what a bare node:http proxy adds (steady 100 req/s)',
    threshold: 2,
    comparison: '<=',
    unit: 'ms',
    inputs: [ids.pacedGateway, ids.pacedBareProxy, ids.pacedTtt],
    compute: (m) => {
      const added = (id: string) => m(id).latencyMs.p50 - m(ids.pacedTtt).latencyMs.p50;
      return added(ids.pacedGateway) - added(ids.pacedBareProxy);
    },
  },
  rpsRatio(
    'gateway-vs-bare-proxy',
    'POST /ttt/transcribe req/s through the gateway / through a bare node:http proxy, same TTTranscribe',
    0.6,
    ids.gatewayTranscribe,
    ids.bareProxyTtt,
  ),
  {
    id: 'circuit-open-p99',
    description:
      'p99 of POST /ttt/transcribe, TTTranscribe down (circuit open) / p99 of TTTranscribe alone (steady 100 req/s)',
    threshold: 1,
    comparison: '<=',
    unit: 'x',
    inputs: [ids.circuitOpen, ids.pacedTtt],
    compute: (m) => m(ids.circuitOpen).latencyMs.p99 / m(ids.pacedTtt).latencyMs.p99,
  },
  // Issue 19: the engine on PostgreSQL (sharing the machine's two cores with the database) against SQLite.
  rpsRatio(
    'postgres-vend-vs-sqlite',
    'POST /v1/vend-token req/s on PostgreSQL (same machine) / on SQLite',
    0.5,
    ids.vendPostgres,
    ids.vendSqlite,
  ),
];

/**
 * Evaluates every target. An input that is missing, answered unexpected statuses or errors, or measured nothing
 * makes the target `not-measured` (never a silent pass).
 *
 * @example
 * const results = evaluateTargets(measurements);
 * results.filter((t) => t.status !== 'pass');
 */
export function evaluateTargets(measurements: readonly Measurement[]): TargetResult[] {
  const byId = new Map(measurements.map((m) => [m.id, m]));
  return TARGETS.map((t) => {
    const base = {
      id: t.id,
      description: t.description,
      threshold: t.threshold,
      comparison: t.comparison,
      unit: t.unit,
      inputs: t.inputs,
    };
    const missing = t.inputs.filter((id) => !byId.has(id));
    if (missing.length > 0)
      return { ...base, measured: null, status: 'not-measured', note: `not measured: ${missing.join(', ')}` };
    const invalid = t.inputs.filter((id) => {
      const m = byId.get(id) as Measurement;
      return m.unexpected > 0 || m.errors > 0 || m.requests === 0;
    });
    if (invalid.length > 0) {
      return {
        ...base,
        measured: null,
        status: 'not-measured',
        note: `unexpected answers or errors in: ${invalid.join(', ')}`,
      };
    }
    const value = t.compute((id) => byId.get(id) as Measurement);
    const measured = Math.round(value * 1000) / 1000;
    const ok =
      t.comparison === '>='
        ? measured >= t.threshold
        : t.comparison === '<='
          ? measured <= t.threshold
          : measured < t.threshold;
    return { ...base, measured, status: ok ? 'pass' : 'fail' };
  });
}
