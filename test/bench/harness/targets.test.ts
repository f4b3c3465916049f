import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../../bench/harness/bench-result.js';
import { evaluateTargets, MEASUREMENT_IDS as ids } from '../../../bench/harness/targets.js';

function m(id: string, rps: number, p50 = 1, p99 = 2, extra: Partial<Measurement> = {}): Measurement {
  return {
    id, title: id, group: 'services', request: 'GET /', mode: 'closed', connections: 50, rate: null, rounds: 1, windowSec: 5,
    requests: rps * 5, rps, latencyMs: { p50, p90: p99, p99, max: p99, mean: p50 }, statuses: { 200: rps * 5 },
    unexpected: 0, errors: 0, exhausted: false, cpu: [], serverCpuMsPerRequest: null, params: {}, ...extra,
  };
}

const all = [
  m(ids.bareProxyTtt, 1000), m(ids.gatewayTranscribe, 700),
  m(ids.expressHello, 4000), m(ids.creditBalance, 2000), m(ids.vendToken, 2400),
  m(ids.circuitOpen, 100, 0.8, 4.9),
  m(ids.pacedTtt, 100, 1.2), m(ids.pacedGateway, 100, 3.5),
  m(ids.vendSqlite, 2000), m(ids.vendPostgres, 900),
];

describe('evaluateTargets', () => {
  it('computes each ratio or difference and compares it with its threshold', () => {
    const byId = Object.fromEntries(evaluateTargets(all).map((t) => [t.id, t]));
    expect(byId['gateway-vs-bare-proxy']).toMatchObject({ measured: 0.7, status: 'pass' });
    expect(byId['balance-vs-express']).toMatchObject({ measured: 0.5, status: 'fail' });
    expect(byId['vend-vs-express']).toMatchObject({ measured: 0.6, status: 'pass' });
    expect(byId['postgres-vend-vs-sqlite']).toMatchObject({ measured: 0.45, status: 'fail' });
    expect(byId['circuit-open-p99']).toMatchObject({ measured: 4.9, status: 'pass' });
    expect(byId['gateway-added-p50']).toMatchObject({ measured: 2.3, status: 'fail' });
  });

  it('never passes a target whose input answered unexpected statuses', () => {
    const broken = all.map((x) => (x.id === ids.gatewayTranscribe ? { ...x, unexpected: 3, statuses: { 202: 10, 401: 3 } } : x));
    const target = evaluateTargets(broken).find((t) => t.id === 'gateway-vs-bare-proxy');
    expect(target).toMatchObject({ status: 'not-measured', measured: null });
    expect(target?.note).toContain(ids.gatewayTranscribe);
  });
});
