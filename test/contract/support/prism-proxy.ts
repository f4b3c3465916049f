/**
 * Runs Prism for contract tests. `prism proxy --errors` in front of a real service: Prism forwards each request and checks both the
 * request and the response against the bundled spec. With --errors a violation is not passed through: Prism
 * answers it itself (a request violation as 401/422, a response violation as 500) with an `sl-violations`
 * header and a problem whose `type` is under https://stoplight.io/prism/errors.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freeLoopbackPort } from '../../../scripts/net/free-port.js';

const require = createRequire(import.meta.url);

export interface PrismProxy {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** Prism's recent output, for failure messages. */
  output(): string;
  /** Every line where Prism reported a violation or answered with its own error, since start (or `clearErrors`). */
  errors(): string[];
  clearErrors(): void;
  stop(): Promise<void>;
}

/** The violations Prism reported on a response it produced or passed on; empty when none. */
export function prismViolations(response: { headers: Headers; body: string }): string[] {
  const found: string[] = [];
  const header = response.headers.get('sl-violations');
  if (header) found.push(`sl-violations: ${header}`);
  if (response.body.includes('https://stoplight.io/prism/errors#'))
    found.push(`prism error body: ${response.body.slice(0, 800)}`);
  return found;
}

/**
 * Starts `prism proxy -h 127.0.0.1 -p PORT --errors SPEC UPSTREAM` and resolves once it answers.
 *
 * @example
 * const proxy = await startPrismProxy({ spec: 'generated/tttranscribe/openapi.json', upstream: ttt.baseUrl });
 * const engine = ...({ TTT_BASE_URL: proxy.url });
 * await proxy.stop();
 */
export function startPrismProxy(options: {
  spec: string;
  upstream: string;
  port?: number;
  readyTimeoutMs?: number;
}): Promise<PrismProxy> {
  return startPrism(
    ['proxy', '--errors', options.spec, options.upstream],
    /prism\/errors#|✖|⚠|[Vv]iolation/,
    options.readyTimeoutMs,
    options.port,
  );
}

/**
 * Starts `prism mock` (static examples) whose `errors()` are the request violations it saw: what a client sent
 * that breaks the spec. (The mock's own examples may break response rules, e.g. a header without an example;
 * those are not the client's and are left out.)
 *
 * @example
 * const mock = await startPrismMock({ spec: 'generated/tttranscribe/openapi.json' });
 * expect(mock.errors()).toEqual([]);
 */
export function startPrismMock(options: { spec: string; readyTimeoutMs?: number }): Promise<PrismProxy> {
  return startPrism(['mock', '--dynamic=false', options.spec], /Violation: request/, options.readyTimeoutMs);
}

async function startPrism(
  args: string[],
  errorLine: RegExp,
  readyTimeoutMs = 60_000,
  chosenPort?: number,
): Promise<PrismProxy> {
  const port = chosenPort ?? (await freeLoopbackPort());
  const bin = join(dirname(require.resolve('@stoplight/prism-cli/package.json')), 'dist', 'index.js');
  const child = spawn(process.execPath, [bin, ...args, '-h', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  let errors: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-8_000);
    for (const line of text.split('\n')) if (errorLine.test(line)) errors.push(line.trim());
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const state = { exited: false }; // set by the child's exit event
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      state.exited = true;
      output += `\n[prism exited: code ${String(code)}, signal ${String(signal)}]`;
      resolve();
    }),
  );
  const stop = async () => {
    if (state.exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exit;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (/Prism is listening/.test(output)) break;
    if (state.exited || Date.now() > deadline) {
      await stop();
      throw new Error(`prism ${args.join(' ')} ${state.exited ? 'exited' : 'did not start in time'}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, output: () => output, errors: () => [...errors], clearErrors: () => (errors = []), stop };
}

/** A free TCP port on 127.0.0.1: Prism takes a port number, not 0. */
export { freeLoopbackPort };
