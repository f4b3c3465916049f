/**
 * `npx tsx bench/micro/upstream-client-costs.ts`: the engine's CPU per upstream call to TTTranscribe, by client
 * layer, against a bare node:http server in its own process: undici Pool.request alone; the generated
 * openapi-fetch client over a fetch that wraps it in WHATWG Request/Response (the engine's first design); that plus
 * X-Engine-Auth signing; and the engine's client as it is (createSignedTttClient: PlainRequest/PlainResponse, no
 * body streams, signed). CPU µs of this process per call (the server's CPU is not counted), median of 5
 * interleaved runs of 2000 sequential calls.
 */
import { Pool } from 'undici';
import { createTttranscribeClient } from '../../generated/tttranscribe/client.js';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { signEngineAuth } from '../../server/protocol/engine-auth.js';
import { createSignedTttClient } from '../../server/business-engine/upstream/ttt-client.js';
import { startServer } from '../harness/server-process.js';

const CALLS = 2000;
const RUNS = 5;
const body = JSON.stringify({ url: 'https://media.example.com/clip.mp4', language: 'en' });
const key = parseSharedSecret('TTT_SHARED_SECRET', generateSharedSecret());
const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln';

const server = await startServer({ name: 'bare-http', entry: 'bench/servers/bare-http.ts', ready: 'ipc' });
const pool = new Pool(server.url, { connections: 4 });

function wrappedFetch(sign: boolean) {
  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const bytes = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (sign) {
      headers['x-engine-auth'] = signEngineAuth({
        keys: [key],
        method: request.method,
        target: url.pathname + url.search,
        body: bytes,
        bearerToken: token,
      }).header;
    }
    const answer = await pool.request({
      method: request.method,
      path: url.pathname + url.search,
      headers,
      body: bytes ?? null,
    });
    const out = Buffer.from(await answer.body.arrayBuffer());
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers))
      if (typeof value === 'string') responseHeaders.append(name, value);
    return new Response(out, { status: answer.statusCode, headers: responseHeaders });
  };
}

const plainClient = createTttranscribeClient({ baseUrl: server.url, fetch: wrappedFetch(false) });
const signedClient = createTttranscribeClient({ baseUrl: server.url, fetch: wrappedFetch(true) });
const engineClient = createSignedTttClient({ baseUrl: server.url, keys: [key], timeoutMs: 5000, connections: 4 });
const cases: Array<[string, () => Promise<unknown>]> = [
  [
    'undici Pool.request + JSON.parse',
    async () => {
      const res = await pool.request({
        method: 'POST',
        path: '/transcribe',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
      return JSON.parse(await res.body.text()) as unknown;
    },
  ],
  [
    'openapi-fetch over Request/Response-wrapped undici',
    () =>
      plainClient.POST('/transcribe', {
        body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
        headers: { authorization: `Bearer ${token}` },
      }),
  ],
  [
    '  … plus X-Engine-Auth signing',
    () =>
      signedClient.POST('/transcribe', {
        body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
        headers: { authorization: `Bearer ${token}` },
      }),
  ],
  [
    "the engine's signed client (PlainRequest, signed)",
    () =>
      engineClient.client.POST('/transcribe', {
        body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
        headers: { authorization: `Bearer ${token}` },
      }),
  ],
];

try {
  for (const [, call] of cases) for (let i = 0; i < 300; i++) await call();
  const runs = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const [name, call] of cases) {
      const before = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await call();
      const used = process.cpuUsage(before);
      runs.get(name)?.push((used.user + used.system) / CALLS);
    }
  }
  for (const [name, values] of runs) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(56)} ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1).padStart(8)} µs CPU/call`,
    );
  }
} finally {
  await pool.close();
  await engineClient.close();
  await server.stop();
}
