/**
 * Runs one `prism mock` child process for a bundled spec and waits until its port answers HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** How to run one mock. */
export interface PrismOptions {
  /** Label used in error messages, e.g. `business-engine`. */
  name: string;
  /** Path of the bundled spec (generated/<api>/openapi.json). */
  spec: string;
  port: number;
  /** Forward Prism's own request log (verbosity `info`) to this process' stdout/stderr. */
  verbose?: boolean;
  /** How long to wait for the port to answer (default 60 s: start-up is slow on a loaded machine). */
  readyTimeoutMs?: number;
}

/** A running mock. */
export interface PrismProcess {
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited (for any reason). */
  exited: Promise<number | null>;
  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
}

function prismBin(): string {
  const pkg = require.resolve('@stoplight/prism-cli/package.json');
  return join(dirname(pkg), 'dist', 'index.js');
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `prism mock` (static examples, no dynamic generation) on 127.0.0.1 and resolves once it answers.
 *
 * @example
 * const mock = await startPrism({ name: 'tttranscribe', spec: 'generated/tttranscribe/openapi.json', port: 4011 });
 * await mock.stop();
 */
export async function startPrism(options: PrismOptions): Promise<PrismProcess> {
  if (!existsSync(options.spec)) throw new Error(`${options.spec} is missing: run \`npm run generate\` first`);
  const args = [
    prismBin(),
    'mock',
    options.spec,
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--dynamic=false',
    '--verboseLevel',
    options.verbose ? 'info' : 'silent',
  ];
  const child = spawn(process.execPath, args, {
    stdio: options.verbose ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hasExited = false as boolean; // `as boolean`: a callback sets it, so TypeScript must not narrow it to false below.
  void exited.then(() => (hasExited = true));

  const url = `http://127.0.0.1:${options.port}`;
  const stop = async (): Promise<void> => {
    if (hasExited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  // Any HTTP answer means ready; /health exists in both specs, so the probe does not log a routing error.
  while (!(await answers(`${url}/health`))) {
    if (hasExited || Date.now() > deadline) {
      await stop();
      const why = hasExited ? 'exited before it was ready' : 'did not answer in time';
      throw new Error(`prism mock for ${options.name} on port ${options.port} ${why}.\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return { url, child, exited, stop };
}
