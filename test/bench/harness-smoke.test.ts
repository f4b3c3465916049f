import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchContext } from '../../bench/harness/bench-context.js';
import { machineInfo, type BenchReport, type BenchSettings } from '../../bench/harness/bench-result.js';
import { runClosedLoad, type HttpRequestSpec } from '../../bench/harness/closed-load.js';
import { renderMarkdown } from '../../bench/harness/markdown-report.js';
import { runPacedLoad } from '../../bench/harness/paced-load.js';
import { startServer, type ServerProcess } from '../../bench/harness/server-process.js';
import { evaluateTargets, MEASUREMENT_IDS } from '../../bench/harness/targets.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';

// A smoke test of the harness, not a speed test: one tiny scenario for about a second, then the shape of the
// JSON and markdown it produces. No assertion here depends on how fast anything is.
const settings: BenchSettings = {
  quick: true,
  windowSec: 1,
  warmupSec: 0.2,
  connections: 2,
  connectionSteps: [1],
  ledgerRows: [1000],
  pacedRate: 20,
  rounds: 1,
  logLevel: 'silent',
  profile: false,
  only: ['limits'],
};
const request: HttpRequestSpec = {
  method: 'POST',
  path: '/transcribe',
  headers: { 'content-type': 'application/json' },
  body: '{"url":"https://x.test/a.mp4"}',
};

describe('bench harness', () => {
  let bare: ServerProcess;
  const cleanup = createCleanupStack();
  const lines: string[] = [];
  const ctx = new BenchContext(settings, (line) => lines.push(line));

  beforeAll(async () => {
    bare = await startServer({ name: 'bare-http', entry: 'bench/servers/bare-http.ts', ready: 'ipc' });
    cleanup.defer(() => bare.stop());
  });
  afterAll(() => cleanup.run());

  it('measures a closed-loop window against a server in its own process', async () => {
    const m = await ctx.measure({
      id: MEASUREMENT_IDS.bareHttp,
      title: 'bare node:http',
      group: 'limits',
      request: 'POST /transcribe',
      connections: 2,
      servers: [bare],
      warmup: () => runClosedLoad({ origin: bare.url, connections: 2, durationSec: 0.2, request, expectStatus: [202] }),
      load: (sec) =>
        runClosedLoad({ origin: bare.url, connections: 2, durationSec: sec, request, expectStatus: [202] }),
    });
    expect(bare.pid).not.toBe(process.pid);
    expect(m.requests).toBeGreaterThan(0);
    expect(m.statuses).toEqual({ 202: m.requests });
    expect(m).toMatchObject({ unexpected: 0, errors: 0, exhausted: false, mode: 'closed', connections: 2 });
    expect(m.windowSec).toBeGreaterThan(0.5);
    for (const v of Object.values(m.latencyMs)) expect(Number.isFinite(v)).toBe(true);
    expect(m.latencyMs.p50).toBeLessThanOrEqual(m.latencyMs.p99);
    expect(m.cpu.map((c) => c.process)).toEqual(expect.arrayContaining(['bare-http', 'load-generator']));
    expect(m.serverCpuMsPerRequest).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes(MEASUREMENT_IDS.bareHttp))).toBe(true);
  });

  it('interleaves arms in alternating rounds and merges each arm into one measurement', async () => {
    const order: string[] = [];
    const arm = (id: string) => ({
      id,
      title: id,
      group: 'limits' as const,
      request: 'POST /transcribe',
      connections: 1,
      servers: [bare],
      prepare: async (sec: number) => () => {
        order.push(id);
        return runClosedLoad({ origin: bare.url, connections: 1, durationSec: sec, request, expectStatus: [202] });
      },
    });
    const local = new BenchContext({ ...settings, windowSec: 0.6 }, () => undefined);
    const [a, b] = await local.measureInterleaved([arm('a'), arm('b')], 3);
    expect(order).toEqual(['a', 'b', 'b', 'a', 'a', 'b']);
    for (const m of [a, b]) {
      expect(m?.rounds).toBe(3);
      expect(m?.statuses[202]).toBe(m?.requests);
      expect(m?.windowSec).toBeGreaterThan(0.4);
    }
  });

  it('stops a single-use supply after its last request and flags statuses it did not expect', async () => {
    const supply = Array.from({ length: 30 }, () => request);
    const out = await runClosedLoad({
      origin: bare.url,
      connections: 3,
      durationSec: 5,
      request: { supply },
      expectStatus: [200],
    });
    expect(out.statuses).toEqual({ 202: 30 });
    expect(out.unexpected).toBe(30);
    expect(out.completed).toBe(0);
    expect(out.exhausted).toBe(true);
  });

  it('paces an open-loop run at a fixed rate', async () => {
    const supply = Array.from({ length: 10 }, () => request);
    const out = await runPacedLoad({ origin: bare.url, rate: 20, durationSec: 0.5, supply, expectStatus: [202] });
    expect(out.completed).toBe(10);
    expect(out.statuses).toEqual({ 202: 10 });
  });

  it('writes a report whose JSON and markdown have the documented shape', () => {
    const report: BenchReport = {
      schemaVersion: 1,
      date: new Date().toISOString(),
      durationSec: 1,
      machine: machineInfo(),
      settings,
      measurements: ctx.measurements,
      targets: evaluateTargets(ctx.measurements),
      notes: ['smoke test'],
    };
    const json = JSON.parse(JSON.stringify(report)) as BenchReport;
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.machine.node).toBe(process.version);
    expect(json.measurements).toHaveLength(1);
    expect(json.targets.map((t) => t.id)).toEqual([
      'vend-vs-bare-vend',
      'balance-vs-bare-balance',
      'gateway-added-p50',
      'gateway-vs-bare-proxy',
      'circuit-open-p99',
      'postgres-vend-vs-sqlite',
    ]);
    // Only the bare server was measured: every target lacks an input and says which.
    for (const t of json.targets) {
      expect(t.status).toBe('not-measured');
      expect(t.note).toMatch(/^not measured: /);
    }
    const md = renderMarkdown(report);
    expect(md).toContain('### Targets (ratios within this run)');
    expect(md).toContain('| target | measured | needed | result |');
    expect(md).toContain('### At 2 connections');
    expect(md).toMatch(/\| bare node:http \(`POST \/transcribe`\) \| \d+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| {2}\|/);
    expect(md).toContain('<!-- summary:start -->');
    expect(md).toContain('## Every measurement');
    expect(md).toContain('- smoke test');
  });
});
