import type { BenchContext } from '../harness/bench-context.js';
import { runClosedLoad, warmRepeated } from '../harness/closed-load.js';
import { measureSupplied } from '../harness/supplied-measure.js';
import { gatewaySupply } from './gateway-supply.js';
import type { StackSession } from './stack-session.js';

/**
 * How latency grows with concurrency: GET /v1/credits/balance and the gateway's POST /ttt/transcribe at each
 * step of `connectionSteps` (1 to 200 connections), closed loop.
 *
 * @example
 * await runConnections(ctx, stack);
 */
export async function runConnections(ctx: BenchContext, stack: StackSession): Promise<void> {
  if (!stack.hasEngine) {
    ctx.note('connections: the Business Engine does not exist yet; skipped.');
    return;
  }
  const { connectionSteps, warmupSec } = ctx.settings;
  const ttt = await stack.ttt();
  const engine = await stack.engine();
  const users = await stack.users();
  const balance = users.balanceRequest();

  for (const connections of connectionSteps) {
    await ctx.measure({
      id: `connections.credit-balance.${connections}`,
      title: `balance, ${connections} conn`,
      group: 'connections',
      request: 'GET /v1/credits/balance',
      connections,
      servers: [engine],
      params: { connections },
      warmup: () => warmRepeated(engine.url, balance, [200], connections, warmupSec / 2),
      load: (sec) =>
        runClosedLoad({ origin: engine.url, connections, durationSec: sec, request: balance, expectStatus: [200] }),
    });
  }
  for (const connections of connectionSteps) {
    await measureSupplied(ctx, {
      id: `connections.gateway-transcribe.${connections}`,
      title: `gateway → TTTranscribe, ${connections} conn`,
      group: 'connections',
      request: 'POST /ttt/transcribe',
      connections,
      servers: [engine, ttt],
      params: { connections },
      origin: engine.url,
      expectStatus: [202],
      guessRps: 600,
      build: async (n) => gatewaySupply(await users.vendTokens(n)),
    });
  }
}
