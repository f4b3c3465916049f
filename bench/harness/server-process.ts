import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: entries are resolved against it and children run in it, whatever the caller's cwd. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** A server under test running in its own process, so the load generator never shares its event loop. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** SIGTERM, wait for a clean exit (so --cpu-prof files get written), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServerOptions {
  readonly name: string;
  /** A TypeScript or JavaScript entry file relative to the repository root, run as `node --import tsx <file>`. */
  readonly entry: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /**
   * How readiness is known: `ipc` waits for `{ type: 'listening', port }` from the child (bench servers);
   * `{ port, healthPath }` polls that path until it answers 2xx (the services' own main.ts).
   */
  readonly ready: 'ipc' | { readonly port: number; readonly healthPath: string };
  /** Write a V8 CPU profile into this folder when the process exits. */
  readonly cpuProfileDir?: string;
  readonly startTimeoutMs?: number;
  /** Where the child's stdout goes; logs are discarded by default (the cost of producing them is still paid). */
  readonly stdout?: 'ignore' | 'inherit';
}

const running = new Set<ChildProcess>();

/**
 * Starts a server process on 127.0.0.1 and resolves once it accepts requests.
 *
 * @example
 * const bare = await startServer({ name: 'bare-http', entry: 'bench/servers/bare-http.ts', ready: 'ipc' });
 * // … load bare.url …
 * await bare.stop();
 */
export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const nodeArgs = ['--import', 'tsx'];
  if (options.cpuProfileDir) {
    // One folder per process, default file names: tsx's loader thread writes its own profile, which a fixed
    // --cpu-prof-name would let overwrite the main thread's.
    const dir = join(options.cpuProfileDir, options.name);
    mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const child = spawn(process.execPath, [...nodeArgs, resolve(REPO_ROOT, options.entry), ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env, NODE_ENV: 'production' },
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
  });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const failed = exited.then((code) => {
    throw new Error(`${options.name} exited with code ${code} before it was ready:\n${stderr}`);
  });
  let port: number;
  try {
    port = await Promise.race([
      options.ready === 'ipc'
        ? waitForIpcPort(child)
        : waitForHealth(options.ready.port, options.ready.healthPath, exited),
      failed,
      timeout(timeoutMs, `${options.name} was not ready within ${timeoutMs} ms:\n${stderr}`),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  failed.catch(() => undefined);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} has no pid`);
  return {
    name: options.name,
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Kills every server this process started and has not stopped yet (harness errors, Ctrl-C). */
export function killAllServers(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A free TCP port on 127.0.0.1, for services whose main.ts takes the port from the environment. */
export { freeLoopbackPort as freePort } from '../../scripts/net/free-port.js';

function waitForIpcPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      const m = message as { type?: string; port?: number } | null | undefined;
      if (m?.type === 'listening' && typeof m.port === 'number') {
        child.off('message', onMessage);
        resolve(m.port);
      }
    };
    child.on('message', onMessage);
  });
}

async function waitForHealth(port: number, path: string, exited: Promise<unknown>): Promise<number> {
  let gone = false as boolean; // `as boolean`: a callback sets it, so TypeScript must not narrow it to false below.
  void exited.then(() => {
    gone = true;
  });
  while (!gone) {
    if (await probe(port, path)) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  return port;
}

function probe(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 500) < 300));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
