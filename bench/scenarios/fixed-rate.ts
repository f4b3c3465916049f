import type { BenchContext } from '../harness/bench-context.js';
import { directTranscribeSupply } from '../harness/bench-credentials.js';
import type { HttpRequestSpec } from '../harness/closed-load.js';
import { runPacedLoad } from '../harness/paced-load.js';
import { startServer } from '../harness/server-process.js';
import { MEASUREMENT_IDS } from '../harness/targets.js';
import { circuitOpenPacedArm, startCircuitOpenEngine } from './circuit-open.js';
import { TRANSCRIBE_BODY } from './limits.js';
import { gatewaySupply } from './gateway-supply.js';
import type { StackSession } from './stack-session.js';

/**
 * What the gateway adds to one request at a steady, unsaturated rate: POST /transcribe straight to TTTranscribe,
 * through a bare node:http proxy (what any extra hop costs on this machine), and POST /ttt/transcribe through the
 * engine, all to the same TTTranscribe at `pacedRate` req/s evenly spaced, in alternating windows; and the
 * gateway with TTTranscribe down (circuit open) at the same rate. The targets compare the p50 the gateway adds
 * with the p50 the bare proxy adds, and the circuit-open p99 with TTTranscribe's own p99.
 *
 * @example
 * await runFixedRate(ctx, stack);
 */
export async function runFixedRate(ctx: BenchContext, stack: StackSession): Promise<void> {
  if (!stack.hasEngine) {
    ctx.note('fixed-rate: the Business Engine does not exist yet; skipped.');
    return;
  }
  const { pacedRate: rate, warmupSec, rounds } = ctx.settings;
  const ttt = await stack.ttt();
  const engine = await stack.engine();
  const users = await stack.users();
  const count = (sec: number) => Math.ceil(rate * sec);
  const direct = (n: number) => directTranscribeSupply(stack.creds, n, TRANSCRIBE_BODY, users.ids);

  const paced = (origin: string, supply: HttpRequestSpec[], sec: number) =>
    runPacedLoad({ origin, rate, durationSec: sec, supply, expectStatus: [202] });
  const down = await startCircuitOpenEngine(ctx, stack);
  const proxy = stack.track(
    await startServer({
      name: 'bare-proxy',
      entry: 'bench/servers/bare-proxy.ts',
      ready: 'ipc',
      env: { BENCH_UPSTREAM_URL: ttt.url },
    }),
  );
  await ctx.measureInterleaved(
    [
      {
        id: MEASUREMENT_IDS.pacedTtt,
        title: 'TTTranscribe alone',
        group: 'fixed-rate',
        request: 'POST /transcribe',
        mode: 'paced',
        connections: 8,
        rate,
        servers: [ttt],
        warmup: async () => paced(ttt.url, await direct(count(warmupSec)), warmupSec),
        prepare: async (sec) => {
          const supply = await direct(count(sec));
          return () => paced(ttt.url, supply, sec);
        },
      },
      {
        id: MEASUREMENT_IDS.pacedBareProxy,
        title: 'bare node:http proxy → TTTranscribe',
        group: 'fixed-rate',
        request: 'POST /transcribe',
        mode: 'paced',
        connections: 8,
        rate,
        servers: [proxy, ttt],
        warmup: async () => paced(proxy.url, await direct(count(warmupSec)), warmupSec),
        prepare: async (sec) => {
          const supply = await direct(count(sec));
          return () => paced(proxy.url, supply, sec);
        },
      },
      {
        id: MEASUREMENT_IDS.pacedGateway,
        title: 'gateway → TTTranscribe',
        group: 'fixed-rate',
        request: 'POST /ttt/transcribe',
        mode: 'paced',
        connections: 8,
        rate,
        servers: [engine, ttt],
        warmup: async () => paced(engine.url, gatewaySupply(await users.vendTokens(count(warmupSec))), warmupSec),
        prepare: async (sec) => {
          const supply = gatewaySupply(await users.vendTokens(count(sec)));
          return () => paced(engine.url, supply, sec);
        },
      },
      circuitOpenPacedArm(ctx, down, rate),
    ],
    rounds,
  );
  await proxy.stop();
  await down.engine.stop();
}
