import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { findHaproxy } from '../stack/system-tools.js';

/** One load-balanced service: a loopback frontend port and the replicas behind it. */
export interface HaproxyFrontend {
  /** A plain identifier, e.g. `engine`. */
  readonly name: string;
  readonly port: number;
  readonly backends: ReadonlyArray<{ readonly name: string; readonly port: number }>;
}

/**
 * An HAProxy configuration for loopback frontends: HTTP mode, round-robin per request, health checks on
 * GET /health every second (a replica is out after 3 failures or 5 s without an answer, back after 1 success), a
 * failed connection retried on another replica, the client address sent in X-Forwarded-For (the replicas run
 * with ENGINE_TRUST_PROXY / TTT_TRUST_PROXY=loopback). Timeouts are generous enough for the slowest request the services make.
 *
 * @example
 * haproxyConfig([{ name: 'engine', port: 8787, backends: [{ name: 'engine-1', port: 20001 }, { name: 'engine-2', port: 20002 }] }]);
 */
export function haproxyConfig(frontends: readonly HaproxyFrontend[]): string {
  const ident = /^[A-Za-z0-9_.-]+$/;
  const lines = [
    'global',
    '  maxconn 4096',
    '  log stderr format short local0 warning',
    'defaults',
    '  mode http',
    '  log global',
    '  option dontlognull',
    // The replicas key unauthenticated callers' rate limits by client address: they trust loopback's X-Forwarded-For.
    '  option forwardfor',
    '  balance roundrobin',
    '  retries 2',
    '  option redispatch',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 5s',
    // Without it a check's answer must come within `inter`: a replica busy for half a second would be marked down.
    '  timeout check 5s',
  ];
  for (const f of frontends) {
    if (!ident.test(f.name) || f.backends.some((b) => !ident.test(b.name)))
      throw new Error(`frontend and backend names must be plain identifiers (${f.name})`);
    if (f.backends.length === 0) throw new Error(`frontend ${f.name} has no backends`);
    lines.push(
      `frontend ${f.name}`,
      `  bind 127.0.0.1:${f.port}`,
      `  default_backend ${f.name}_replicas`,
      `backend ${f.name}_replicas`,
      '  option httpchk GET /health',
      '  http-check expect status 200',
      '  default-server inter 1s fall 3 rise 1',
      ...f.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A running HAProxy. */
export interface RunningHaproxy {
  readonly child: ChildProcess;
  readonly configPath: string;
  /** Its last output lines (warnings, errors). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Writes the configuration into `dir`, checks it (`haproxy -c`), starts HAProxy in the foreground as a child
 * process and waits until every frontend accepts connections.
 *
 * @throws Error with HAProxy's own message when the configuration is refused or it exits at start.
 * @example
 * const lb = await startHaproxy(frontends, tmpDir);
 * // ... http://127.0.0.1:<frontend port> ...
 * await lb.stop();
 */
export async function startHaproxy(
  frontends: readonly HaproxyFrontend[],
  dir: string,
  timeoutMs = 10_000,
): Promise<RunningHaproxy> {
  const bin = findHaproxy();
  const configPath = join(dir, 'haproxy.cfg');
  writeFileSync(configPath, haproxyConfig(frontends));
  const child = spawn(bin, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    lines.push(...d.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const state = { exited: false }; // an object: set in a callback, so TypeScript does not narrow it to false
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      state.exited = true;
      resolve();
    }),
  );
  child.once('error', (error) => lines.push(`could not start haproxy: ${error.message}`));
  const stop = async () => {
    if (!state.exited) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (const f of frontends) {
    while (!(await accepts(f.port))) {
      if (state.exited || Date.now() > deadline) {
        await stop();
        throw new Error(
          `haproxy did not start (frontend ${f.name} on 127.0.0.1:${f.port}): ${lines.join(' | ') || 'no output'}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { child, configPath, output: () => lines.join('\n'), stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
