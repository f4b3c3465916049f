import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Io } from '../command.js';

/** The sandbox's entry point, run as its own process (the CLI does not import the services). */
const SANDBOX_MAIN = fileURLToPath(new URL('../../../server/sandbox/main.ts', import.meta.url));

export const SANDBOX_SUMMARY = 'Run the whole chain locally for app development (same as npm run sandbox)';

/**
 * `pluct sandbox [flags]`: starts `server/sandbox/main.ts` with the flags as given (`pluct sandbox --help` lists
 * them), relays its output, passes Ctrl-C and SIGTERM on, and resolves with its exit code.
 *
 * @example
 * process.exitCode = await runSandbox(['--port', '0'], processIo());
 */
export function runSandbox(argv: readonly string[], io: Io): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', SANDBOX_MAIN, ...argv], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    env: io.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => io.out(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => io.err(chunk.toString()));
  const relay = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = relay('SIGINT');
  const onTerm = relay('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
