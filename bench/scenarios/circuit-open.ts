import { join } from 'node:path';
import type { ArmSpec, BenchContext } from '../harness/bench-context.js';
import { startEngineProcess } from '../harness/bench-stack.js';
import { runClosedLoad, type HttpRequestSpec } from '../harness/closed-load.js';
import { EngineUsers } from '../harness/engine-users.js';
import { runPacedLoad } from '../harness/paced-load.js';
import { freePort, type ServerProcess } from '../harness/server-process.js';
import { measureSupplied } from '../harness/supplied-measure.js';
import { MEASUREMENT_IDS } from '../harness/targets.js';
import { gatewaySupply } from './gateway-supply.js';
import type { StackSession } from './stack-session.js';

/** Requests that fail against a closed port before the measurement, so the breaker is open. */
const TRIP_REQUESTS = 20;

/** An engine whose TTTranscribe is down, its breaker already open, and the requests to send it. */
export interface CircuitOpenEngine {
  readonly engine: ServerProcess;
  /** `n` POST /ttt/transcribe requests, each with a freshly vended service token. */
  readonly build: (n: number) => Promise<HttpRequestSpec[]>;
}

/**
 * Starts an engine whose TTT_BASE_URL is a free port nobody listens on and trips its breaker: from then on it
 * must answer POST /ttt/transcribe with 503 upstream_unavailable at once, refunding the credit.
 *
 * @example
 * const down = await startCircuitOpenEngine(ctx, stack);
 */
export async function startCircuitOpenEngine(ctx: BenchContext, stack: StackSession): Promise<CircuitOpenEngine> {
  const downUrl = `http://127.0.0.1:${await freePort()}`;
  const engine = stack.track(
    await startEngineProcess(stack.creds, {
      name: 'engine-ttt-down',
      dbPath: join(stack.ws.dir, 'business-engine-ttt-down.db'),
      logLevel: ctx.settings.logLevel,
      tttUrl: downUrl,
      ...(stack.profileDir ? { cpuProfileDir: stack.profileDir } : {}),
    }),
  );
  const users = await EngineUsers.create(stack.creds, engine.url);
  const build = async (n: number) => gatewaySupply(await users.vendTokens(n));

  const trip = await runClosedLoad({
    origin: engine.url,
    connections: 1,
    durationSec: 10,
    request: { supply: await build(TRIP_REQUESTS) },
    expectStatus: [503],
  });
  if (trip.unexpected > 0 || trip.errors > 0) {
    ctx.note(`circuit-open: tripping the breaker answered ${JSON.stringify(trip.statuses)} (expected only 503).`);
  }
  return { engine, build };
}

/**
 * The circuit-open target's arm: the fast-fail path at a steady `rate` req/s (the latency a caller sees; under
 * saturation latency is only connections / throughput). The fixed-rate scenario runs it interleaved with
 * TTTranscribe alone at the same rate, which the target compares its p99 with.
 *
 * @example
 * await ctx.measureInterleaved([tttAloneArm, circuitOpenPacedArm(ctx, down, 100)], rounds);
 */
export function circuitOpenPacedArm(ctx: BenchContext, down: CircuitOpenEngine, rate: number): ArmSpec {
  const paced = async (sec: number) => {
    const supply = await down.build(Math.ceil(rate * sec));
    return () => runPacedLoad({ origin: down.engine.url, rate, durationSec: sec, supply, expectStatus: [503] });
  };
  return {
    id: MEASUREMENT_IDS.circuitOpen,
    title: 'gateway, TTTranscribe down (circuit open)',
    group: 'fixed-rate',
    request: 'POST /ttt/transcribe',
    mode: 'paced',
    connections: 8,
    rate,
    servers: [down.engine],
    warmup: async () => (await paced(ctx.settings.warmupSec))(),
    prepare: paced,
  };
}

/**
 * POST /ttt/transcribe on an engine whose TTTranscribe is down, closed-loop at the fixed concurrency: the
 * throughput of the fast-fail path. Its latency target is measured at a steady rate by the fixed-rate scenario.
 *
 * @example
 * await runCircuitOpen(ctx, stack);
 */
export async function runCircuitOpen(ctx: BenchContext, stack: StackSession): Promise<void> {
  const down = await startCircuitOpenEngine(ctx, stack);
  await measureSupplied(ctx, {
    id: `${MEASUREMENT_IDS.circuitOpen}-closed`,
    title: 'gateway, TTTranscribe down (circuit open)',
    group: 'services',
    request: 'POST /ttt/transcribe',
    connections: ctx.settings.connections,
    servers: [down.engine],
    origin: down.engine.url,
    expectStatus: [503],
    guessRps: 1500,
    build: down.build,
    maxSupply: 15_000,
  });
  await down.engine.stop();
}
