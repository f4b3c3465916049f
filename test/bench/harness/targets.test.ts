import { describe, expect, it } from 'vitest';
import type { Measurement } from '../../../bench/harness/bench-result.js';
import { evaluateTargets, MEASUREMENT_IDS as ids, TARGETS } from '../../../bench/harness/targets.js';

function m(id: string, rps: number, p50 = 1, p99 = 2, extra: Partial<Measurement> = {}): Measurement {
  return {
    id,
    title: id,
    group: 'services',
    request: 'GET /',
    mode: 'closed',
    connections: 50,
    rate: null,
    rounds: 1,
    windowSec: 5,
    requests: rps * 5,
    rps,
    latencyMs: { p50, p90: p99, p99, max: p99, mean: p50 },
    statuses: { 200: rps * 5 },
    unexpected: 0,
    errors: 0,
    exhausted: false,
    cpu: [],
    serverCpuMsPerRequest: null,
    params: {},
    ...extra,
  };
}

const all = [
  m(ids.bareVend, 1000),
  m(ids.vendToken, 650),
  m(ids.bareBalance, 2000),
  m(ids.creditBalance, 1700),
  m(ids.bareProxyTtt, 1000),
  m(ids.gatewayTranscribe, 700),
  m(ids.pacedTtt, 100, 1.2, 6.0),
  m(ids.pacedBareProxy, 100, 1.9),
  m(ids.pacedGateway, 100, 3.5),
  m(ids.circuitOpen, 100, 0.8, 6.0),
  m(ids.vendSqlite, 2000),
  m(ids.vendPostgres, 900),
];

describe('evaluateTargets', () => {
  it("has the five targets of issue 21, each against a floor of the same run, and issue 19's PostgreSQL vend", () => {
    expect(TARGETS.map((t) => [t.id, t.comparison, t.threshold, t.unit])).toEqual([
      ['vend-vs-bare-vend', '>=', 0.7, 'x'],
      ['balance-vs-bare-balance', '>=', 0.8, 'x'],
      ['gateway-added-p50', '<=', 2, 'ms'],
      ['gateway-vs-bare-proxy', '>=', 0.6, 'x'],
      ['circuit-open-p99', '<=', 1, 'x'],
      ['postgres-vend-vs-sqlite', '>=', 0.5, 'x'],
    ]);
  });

  it('computes each ratio or difference and compares it with its threshold', () => {
    const byId = Object.fromEntries(evaluateTargets(all).map((t) => [t.id, t]));
    expect(byId['vend-vs-bare-vend']).toMatchObject({ measured: 0.65, status: 'fail' });
    expect(byId['balance-vs-bare-balance']).toMatchObject({ measured: 0.85, status: 'pass' });
    // The gateway adds 2.3 ms, the bare proxy 0.7 ms: 1.6 ms more than the floor.
    expect(byId['gateway-added-p50']).toMatchObject({ measured: 1.6, status: 'pass' });
    expect(byId['gateway-vs-bare-proxy']).toMatchObject({ measured: 0.7, status: 'pass' });
    // Equal p99s pass: failing fast may cost as much as one hop, not more.
    expect(byId['circuit-open-p99']).toMatchObject({ measured: 1, status: 'pass' });
    expect(byId['postgres-vend-vs-sqlite']).toMatchObject({ measured: 0.45, status: 'fail' });
  });

  it('fails the gateway-added target when the gateway adds more than the bare proxy plus 2 ms', () => {
    const slow = all.map((x) => (x.id === ids.pacedGateway ? { ...x, latencyMs: { ...x.latencyMs, p50: 4.0 } } : x));
    expect(evaluateTargets(slow).find((t) => t.id === 'gateway-added-p50')).toMatchObject({
      measured: 2.1,
      status: 'fail',
    });
  });

  it('fails the circuit-open target when its p99 is above TTTranscribe alone', () => {
    const slow = all.map((x) => (x.id === ids.circuitOpen ? { ...x, latencyMs: { ...x.latencyMs, p99: 6.6 } } : x));
    expect(evaluateTargets(slow).find((t) => t.id === 'circuit-open-p99')).toMatchObject({
      measured: 1.1,
      status: 'fail',
    });
  });

  it('never passes a target whose input answered unexpected statuses or is missing', () => {
    const broken = all.map((x) =>
      x.id === ids.gatewayTranscribe ? { ...x, unexpected: 3, statuses: { 202: 10, 401: 3 } } : x,
    );
    const target = evaluateTargets(broken).find((t) => t.id === 'gateway-vs-bare-proxy');
    expect(target).toMatchObject({ status: 'not-measured', measured: null });
    expect(target?.note).toContain(ids.gatewayTranscribe);
    const withoutFloor = evaluateTargets(all.filter((x) => x.id !== ids.pacedBareProxy)).find(
      (t) => t.id === 'gateway-added-p50',
    );
    expect(withoutFloor).toMatchObject({ status: 'not-measured', measured: null });
  });
});
