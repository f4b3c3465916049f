import { join } from 'node:path';
import type { ArmSpec, BenchContext } from '../harness/bench-context.js';
import { directTranscribeSupply } from '../harness/bench-credentials.js';
import { runClosedLoad, warmRepeated, type HttpRequestSpec } from '../harness/closed-load.js';
import { startServer } from '../harness/server-process.js';
import { measureSupplied, suppliedArm } from '../harness/supplied-measure.js';
import { MEASUREMENT_IDS } from '../harness/targets.js';
import { runCircuitOpen } from './circuit-open.js';
import { gatewaySupply } from './gateway-supply.js';
import { TRANSCRIBE_BODY } from './limits.js';
import type { StackSession } from './stack-session.js';

const DIRECT_USERS = ['bench-direct-1', 'bench-direct-2', 'bench-direct-3'];

/**
 * The services at the fixed concurrency, each target measured interleaved with its baseline:
 * TTTranscribe's POST /transcribe alone; a bare node:http proxy in front of it alternating with the gateway's
 * POST /ttt/transcribe in front of it; Express hello-world alternating with GET /v1/credits/balance,
 * POST /v1/vend-token and the bare balance and bare vend (the floors of any balance and vend); then /ttt/transcribe with TTTranscribe down.
 *
 * @example
 * await runServices(ctx, stack);
 */
export async function runServices(ctx: BenchContext, stack: StackSession): Promise<void> {
  if (!stack.hasTtt) {
    ctx.note('TTTranscribe (server/tttranscribe/main.ts) does not exist yet: its scenarios were skipped.');
    return;
  }
  const { connections, rounds, warmupSec } = ctx.settings;
  ctx.note(
    'TTTranscribe runs with TTT_TRANSCRIBER=none (no media work): its worker claims and fails each job at once, ' +
      'so its numbers include that per-job work (two more SQLite writes and two log lines per request).',
  );
  ctx.note(
    "The engine's credit sweep (ENGINE_SWEEP_INTERVAL_SEC) is pushed past the run so its burst of status polls " +
      'does not land in a random window; it is background work, not a request path.',
  );
  const ttt = await stack.ttt();
  const direct = (n: number) => directTranscribeSupply(stack.creds, n, TRANSCRIBE_BODY, DIRECT_USERS);

  await measureSupplied(ctx, {
    id: MEASUREMENT_IDS.tttTranscribe,
    title: 'TTTranscribe alone',
    group: 'services',
    request: 'POST /transcribe',
    connections,
    servers: [ttt],
    origin: ttt.url,
    expectStatus: [202],
    guessRps: 1500,
    build: direct,
  });

  if (!stack.hasEngine) {
    ctx.note('The Business Engine (server/business-engine/main.ts) does not exist yet: its scenarios were skipped.');
    return;
  }
  const engine = await stack.engine();
  const users = await stack.users();
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
      suppliedArm(ctx, {
        id: MEASUREMENT_IDS.bareProxyTtt,
        title: 'bare node:http proxy → TTTranscribe',
        group: 'limits',
        request: 'POST /transcribe',
        connections,
        servers: [proxy, ttt],
        origin: proxy.url,
        expectStatus: [202],
        guessRps: 1000,
        build: direct,
      }),
      suppliedArm(ctx, {
        id: MEASUREMENT_IDS.gatewayTranscribe,
        title: 'gateway → TTTranscribe',
        group: 'services',
        request: 'POST /ttt/transcribe',
        connections,
        servers: [engine, ttt],
        origin: engine.url,
        expectStatus: [202],
        guessRps: 600,
        build: async (n) => gatewaySupply(await users.vendTokens(n)),
      }),
    ],
    rounds,
  );
  await proxy.stop();

  const hello = stack.track(
    await startServer({ name: 'express-hello', entry: 'bench/servers/express-hello.ts', ready: 'ipc' }),
  );
  const bareVend = stack.track(
    await startServer({
      name: 'bare-vend',
      entry: 'bench/servers/bare-vend.ts',
      ready: 'ipc',
      env: { BENCH_DB: join(stack.ws.dir, 'bare-vend.db') },
    }),
  );
  const bareBalance = stack.track(
    await startServer({
      name: 'bare-balance',
      entry: 'bench/servers/bare-balance.ts',
      ready: 'ipc',
      env: { BENCH_DB: join(stack.ws.dir, 'bare-balance.db'), BENCH_USER_JWT_SECRET: stack.creds.userJwtSecret },
    }),
  );
  const helloRequest: HttpRequestSpec = { method: 'GET', path: '/' };
  const bareVendRequest: HttpRequestSpec = {
    method: 'POST',
    path: '/v1/vend-token',
    headers: { 'content-type': 'application/json', 'x-bench-user': 'bench-bare-1' },
    body: JSON.stringify({ clientRequestId: 'bench-bare' }),
  };
  const balance = users.balanceRequest();
  const repeated = (
    arm: Omit<ArmSpec, 'prepare' | 'warmup'>,
    origin: string,
    request: HttpRequestSpec,
    expect: number,
  ): ArmSpec => ({
    ...arm,
    warmup: () => warmRepeated(origin, request, [expect], connections, warmupSec),
    prepare: async (sec) => () =>
      runClosedLoad({ origin, connections, durationSec: sec, request, expectStatus: [expect] }),
  });
  await ctx.measureInterleaved(
    [
      repeated(
        {
          id: MEASUREMENT_IDS.expressHello,
          title: 'Express 5 hello-world',
          group: 'limits',
          request: 'GET /',
          connections,
          servers: [hello],
        },
        hello.url,
        helloRequest,
        200,
      ),
      repeated(
        {
          id: MEASUREMENT_IDS.creditBalance,
          title: 'Business Engine balance',
          group: 'services',
          request: 'GET /v1/credits/balance',
          connections,
          servers: [engine],
        },
        engine.url,
        balance,
        200,
      ),
      repeated(
        {
          id: MEASUREMENT_IDS.bareBalance,
          title: 'bare balance (Express + HS256 check + one SQLite read)',
          group: 'limits',
          request: 'GET /v1/credits/balance',
          connections,
          servers: [bareBalance],
        },
        bareBalance.url,
        balance,
        200,
      ),
      suppliedArm(ctx, {
        id: MEASUREMENT_IDS.vendToken,
        title: 'Business Engine vend-token',
        group: 'services',
        request: 'POST /v1/vend-token',
        connections,
        servers: [engine],
        origin: engine.url,
        expectStatus: [200],
        guessRps: 1000,
        build: (n) => users.vendSupply(n),
      }),
      repeated(
        {
          id: MEASUREMENT_IDS.bareVend,
          title: 'bare vend (Express + one SQLite transaction + ES256)',
          group: 'limits',
          request: 'POST /v1/vend-token',
          connections,
          servers: [bareVend],
        },
        bareVend.url,
        bareVendRequest,
        200,
      ),
    ],
    rounds,
  );
  await hello.stop();
  await bareVend.stop();
  await bareBalance.stop();

  await runCircuitOpen(ctx, stack);
}
