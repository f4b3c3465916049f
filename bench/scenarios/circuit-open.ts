import { join } from 'node:path';
import type { BenchContext } from '../harness/bench-context.js';
import { startEngineProcess } from '../harness/bench-stack.js';
import { runClosedLoad } from '../harness/closed-load.js';
import { EngineUsers } from '../harness/engine-users.js';
import { runPacedLoad } from '../harness/paced-load.js';
import { freePort } from '../harness/server-process.js';
import { measureSupplied } from '../harness/supplied-measure.js';
import { MEASUREMENT_IDS } from '../harness/targets.js';
import { gatewaySupply } from './gateway-supply.js';
import type { StackSession } from './stack-session.js';

/** Requests that fail against a closed port before the measurement, so the breaker is open. */
const TRIP_REQUESTS = 20;

/**
 * POST /ttt/transcribe on an engine whose TTTranscribe is down (its TTT_BASE_URL is a free port nobody listens
 * on): the breaker opens after the first failures and the engine must answer 503 upstream_unavailable at once,
 * refunding the credit. Measured closed-loop at the fixed concurrency (throughput of the fast-fail path) and at
 * a steady 100 req/s (the latency a caller sees, which the p99 target is about: under saturation latency is only
 * connections / throughput).
 *
 * @example
 * await runCircuitOpen(ctx, stack);
 */
export async function runCircuitOpen(ctx: BenchContext, stack: StackSession): Promise<void> {
  const { connections, pacedRate, warmupSec } = ctx.settings;
  const downUrl = `http://127.0.0.1:${await freePort()}`;
  const engine = stack.track(await startEngineProcess(stack.creds, {
    name: 'engine-ttt-down',
    dbPath: join(stack.ws.dir, 'business-engine-ttt-down.db'),
    logLevel: ctx.settings.logLevel,
    tttUrl: downUrl,
    ...(stack.profileDir ? { cpuProfileDir: stack.profileDir } : {}),
  }));
  const users = await EngineUsers.create(stack.creds, engine.url);
  const build = async (n: number) => gatewaySupply(await users.vendTokens(n));

  const trip = await runClosedLoad({
    origin: engine.url, connections: 1, durationSec: 10, request: { supply: await build(TRIP_REQUESTS) }, expectStatus: [503],
  });
  if (trip.unexpected > 0 || trip.errors > 0) {
    ctx.note(`circuit-open: tripping the breaker answered ${JSON.stringify(trip.statuses)} (expected only 503).`);
  }

  await measureSupplied(ctx, {
    id: `${MEASUREMENT_IDS.circuitOpen}-closed`, title: 'gateway, TTTranscribe down (circuit open)', group: 'services',
    request: 'POST /ttt/transcribe', connections, servers: [engine], origin: engine.url, expectStatus: [503],
    guessRps: 1500, build, maxSupply: 15_000,
  });

  const paced = async (sec: number) => {
    const supply = await build(Math.ceil(pacedRate * sec));
    return () => runPacedLoad({ origin: engine.url, rate: pacedRate, durationSec: sec, supply, expectStatus: [503] });
  };
  await ctx.measureInterleaved([{
    id: MEASUREMENT_IDS.circuitOpen, title: 'gateway, TTTranscribe down (circuit open)', group: 'fixed-rate',
    request: 'POST /ttt/transcribe', mode: 'paced', connections: 8, rate: pacedRate, servers: [engine],
    warmup: async () => (await paced(warmupSec))(),
    prepare: paced,
  }], 1);
  await engine.stop();
}
