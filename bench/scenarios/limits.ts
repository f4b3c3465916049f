import type { BenchContext } from '../harness/bench-context.js';
import { runClosedLoad, warmRepeated, type HttpRequestSpec } from '../harness/closed-load.js';
import { startServer, type ServerProcess } from '../harness/server-process.js';
import { MEASUREMENT_IDS } from '../harness/targets.js';

/** The body every transcribe scenario sends (a direct media link; TTT_TRANSCRIBER=none does no media work). */
export const TRANSCRIBE_BODY = JSON.stringify({ url: 'https://media.example.com/clip.mp4', language: 'en' });

const TRANSCRIBE_REQUEST: HttpRequestSpec = {
  method: 'POST',
  path: '/transcribe',
  headers: { 'content-type': 'application/json' },
  body: TRANSCRIBE_BODY,
};

/**
 * The limits of the machine: bare node:http answering TTTranscribe's 202 body, and a bare keep-alive proxy in
 * front of it. (The baselines the targets divide by, Express hello-world and the bare proxy in front of the real
 * TTTranscribe, are measured interleaved with their services in the services group.)
 *
 * @example
 * await runLimits(ctx);
 */
export async function runLimits(ctx: BenchContext): Promise<void> {
  const { connections, warmupSec } = ctx.settings;
  const bare = await startServer({ name: 'bare-http', entry: 'bench/servers/bare-http.ts', ready: 'ipc' });
  const started: ServerProcess[] = [bare];
  try {
    const closed = (origin: string, request: HttpRequestSpec, durationSec: number, expect: number) =>
      runClosedLoad({ origin, connections, durationSec, request, expectStatus: [expect] });

    await ctx.measure({
      id: MEASUREMENT_IDS.bareHttp,
      title: 'bare node:http (TTT 202 body)',
      group: 'limits',
      request: 'POST /transcribe',
      connections,
      servers: [bare],
      warmup: () => warmRepeated(bare.url, TRANSCRIBE_REQUEST, [202], connections, warmupSec),
      load: (sec) => closed(bare.url, TRANSCRIBE_REQUEST, sec, 202),
    });

    const proxy = await startServer({
      name: 'bare-proxy',
      entry: 'bench/servers/bare-proxy.ts',
      ready: 'ipc',
      env: { BENCH_UPSTREAM_URL: bare.url },
    });
    started.push(proxy);
    await ctx.measure({
      id: MEASUREMENT_IDS.bareProxyBare,
      title: 'bare node:http proxy → bare node:http',
      group: 'limits',
      request: 'POST /transcribe',
      connections,
      servers: [proxy, bare],
      warmup: () => warmRepeated(proxy.url, TRANSCRIBE_REQUEST, [202], connections, warmupSec),
      load: (sec) => closed(proxy.url, TRANSCRIBE_REQUEST, sec, 202),
    });
    await proxy.stop();
    await bare.stop();
  } finally {
    await Promise.all(started.map((s) => s.stop()));
  }
}
