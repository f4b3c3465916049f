import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { signEngineAuth } from '../../../server/protocol/engine-auth.js';
import { engineProcessEnv, tttProcessEnv } from '../../contract/support/service-process.js';
import { TEST_ADMIN_TOKEN } from '../../helpers/engine-app.js';
import { TEST_KEY, TEST_SECRET } from '../../helpers/ttt-app.js';

/*
 * SIGTERM through the real entry points (main.ts -> runService -> start-service close()): on a keep-alive
 * connection whose request is in flight when the signal arrives, that request completes, and the next request
 * on the same connection gets 503 service_unavailable with Retry-After and Connection: close; then the process
 * exits 0. Raw sockets, because the point is what happens on one connection the server already accepted.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WAIT_MS = 15_000;

interface Service {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the first JSON log line whose `msg` is `msg`. */
  logged(msg: string): Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function startMain(service: 'business-engine' | 'tttranscribe', env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['--import', 'tsx', `server/${service}/main.ts`], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = (msg: string) =>
    within(
      `log line "${msg}"`,
      new Promise<Record<string, unknown>>((resolve) => {
        const check = () => {
          const found = lines.find((line) => line['msg'] === msg);
          if (found) resolve(found);
          else waiters.push(check);
        };
        check();
      }),
    );
  return { child, logged, exited };
}

function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_resolve, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** One HTTP/1.1 connection read response by response. */
function rawConnection(url: string): { socket: Socket; read(): Promise<RawResponse>; closed: Promise<void> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let buffer = '';
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    wake?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('close', () => wake?.());
  const until = (ready: () => boolean): Promise<void> =>
    within(
      'a response',
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (ready()) resolve();
          else if (socket.destroyed) reject(new Error(`connection closed; unread: ${JSON.stringify(buffer)}`));
          else wake = check;
        };
        check();
      }),
    );
  const read = async (): Promise<RawResponse> => {
    await until(() => buffer.includes('\r\n\r\n'));
    const end = buffer.indexOf('\r\n\r\n');
    const [statusLine = '', ...fields] = buffer.slice(0, end).split('\r\n');
    buffer = buffer.slice(end + 4);
    const headers = Object.fromEntries(
      fields.map((f) => [f.slice(0, f.indexOf(':')).trim().toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]),
    );
    const length = Number(headers['content-length'] ?? 0);
    await until(() => Buffer.byteLength(buffer) >= length);
    const body = buffer.slice(0, length);
    buffer = buffer.slice(length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  };
  return { socket, read, closed };
}

interface HeldRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const cases: Array<{
  service: 'business-engine' | 'tttranscribe';
  listening: string;
  env: () => Promise<Record<string, string>>;
  held: () => HeldRequest;
  completes: number;
}> = [
  {
    service: 'business-engine',
    listening: 'Business Engine listening',
    env: () => engineProcessEnv(),
    held: () => ({
      method: 'POST',
      path: '/admin/credits/grant',
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      body: JSON.stringify({ userId: 'drained-user', amount: 5, reason: 'granted during shutdown', bucket: 'main' }),
    }),
    completes: 200,
  },
  {
    service: 'tttranscribe',
    listening: 'TTTranscribe listening',
    env: async () => tttProcessEnv({ TTT_SHARED_SECRET: TEST_SECRET }),
    held: () => {
      const body = JSON.stringify({ probe: true });
      const { header } = signEngineAuth({
        keys: [TEST_KEY],
        method: 'POST',
        target: '/test/validate-engine-auth',
        body: Buffer.from(body),
        bearerToken: undefined,
        now: Date.now,
      });
      return { method: 'POST', path: '/test/validate-engine-auth', headers: { 'X-Engine-Auth': header }, body };
    },
    completes: 200,
  },
];

describe('runService: SIGTERM drains', () => {
  for (const c of cases) {
    it(`${c.service}: the in-flight request completes, the next one on its connection gets 503 service_unavailable, the process exits 0`, async () => {
      const service = startMain(c.service, await c.env());
      const { url } = (await service.logged(c.listening)) as { url: string };
      const conn = rawConnection(url);

      const held = c.held();
      const half = Math.floor(held.body.length / 2);
      const head = [
        `${held.method} ${held.path} HTTP/1.1`,
        `Host: ${new URL(url).host}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(held.body)}`,
        'Expect: 100-continue',
        ...Object.entries(held.headers).map(([name, value]) => `${name}: ${value}`),
      ].join('\r\n');
      conn.socket.write(`${head}\r\n\r\n${held.body.slice(0, half)}`);
      // Node answers 100 Continue as it hands the request to the app: from here on it is in flight.
      expect((await conn.read()).status).toBe(100);

      service.child.kill('SIGTERM');
      await service.logged('signal received');
      conn.socket.write(held.body.slice(half));
      const completed = await conn.read();
      expect(completed.status, completed.body).toBe(c.completes);

      conn.socket.write(`GET /health HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`);
      const refused = await conn.read();
      expect(refused.status).toBe(503);
      expect(refused.headers).toMatchObject({ 'retry-after': '5', connection: 'close' });
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(refused.body)).toMatchObject({
        code: 'service_unavailable',
        status: 503,
        details: { retryAfterSec: 5, reason: 'shutting_down' },
      });
      await within('the server to close the connection', conn.closed);
      expect(await within('the process to exit', service.exited)).toBe(0);
    });
  }
});
