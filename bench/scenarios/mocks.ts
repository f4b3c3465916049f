import { resolve } from 'node:path';
import { startPrism } from '../../mocks/prism-process.js';
import type { BenchContext } from '../harness/bench-context.js';
import { runClosedLoad, warmRepeated, type HttpRequestSpec } from '../harness/closed-load.js';
import { freePort, REPO_ROOT } from '../harness/server-process.js';
import { TRANSCRIBE_BODY } from './limits.js';

interface MockCase {
  readonly id: string;
  readonly title: string;
  readonly spec: string;
  readonly request: HttpRequestSpec;
  readonly expect: number;
}

// Prism checks that credentials are present and well-formed, not what they are: fixed values do.
const CASES: readonly MockCase[] = [
  {
    id: 'mocks.tttranscribe-transcribe',
    title: 'Prism mock of TTTranscribe',
    spec: 'generated/tttranscribe/openapi.json',
    request: {
      method: 'POST',
      path: '/transcribe',
      body: TRANSCRIBE_BODY,
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtb2NrIn0.c2ln',
        'x-engine-auth': 'v1;t=1795428000;n=AAAAAAAAAAAAAAAAAAAAAA;sig=0123456789abcdef:c2ln',
      },
    },
    expect: 202,
  },
  {
    id: 'mocks.business-engine-balance',
    title: 'Prism mock of the Business Engine',
    spec: 'generated/business-engine/openapi.json',
    request: {
      method: 'GET',
      path: '/v1/credits/balance',
      headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb2NrIn0.c2ln' },
    },
    expect: 200,
  },
];

/**
 * The reference point app developers would otherwise use: Prism mocks of each spec (static examples), started
 * with the project's own mocks/prism-process.ts, measured like the services.
 *
 * @example
 * await runMocks(ctx);
 */
export async function runMocks(ctx: BenchContext): Promise<void> {
  const { connections, warmupSec } = ctx.settings;
  for (const c of CASES) {
    const mock = await startPrism({ name: c.id, spec: resolve(REPO_ROOT, c.spec), port: await freePort() });
    try {
      const pid = mock.child.pid;
      await ctx.measure({
        id: c.id,
        title: c.title,
        group: 'mocks',
        request: `${c.request.method} ${c.request.path}`,
        connections,
        servers: pid === undefined ? [] : [{ name: 'prism', pid }],
        warmup: () => warmRepeated(mock.url, c.request, [c.expect], connections, warmupSec),
        load: (sec) =>
          runClosedLoad({
            origin: mock.url,
            connections,
            durationSec: sec,
            request: c.request,
            expectStatus: [c.expect],
          }),
      });
    } finally {
      await mock.stop();
    }
  }
}
