import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const PLUCT_BIN = join(root, 'bin/pluct.js');

export interface PluctRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// Variables that would change what the CLI reads: never inherited from the test runner's environment.
const PRIVATE = /^(PLUCT_|TTT_|USER_JWT_|ADMIN_TOKEN|SERVICE_TOKEN_|ENGINE_)/;

/**
 * Runs `node bin/pluct.js …` as a separate process (asynchronously, so servers in this process keep answering)
 * with a clean environment plus `env`, in `cwd` (default: an empty temp dir, so no stray .env is read).
 *
 * @example
 * const { code, stdout } = await runPluct(['secret', 'new']);
 */
export function runPluct(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<PluctRun> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => v !== undefined && !PRIVATE.test(k)),
  ) as Record<string, string>;
  const cwd = options.cwd ?? emptyDir;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PLUCT_BIN, ...args],
      { cwd, env: { ...base, NO_COLOR: '', ...options.env }, timeout: 55_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          resolve({
            code: -1,
            stdout,
            stderr: `${stderr}\n[runPluct: the process did not exit normally: ${error.signal ?? error.message}]`,
          });
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Runs several invocations with at most `limit` processes at a time (each costs a tsx start-up), in order.
 *
 * @example
 * const [a, b] = await runPluctAll([['--help'], ['secret', 'new']]);
 */
export async function runPluctAll(invocations: string[][], limit = 4): Promise<PluctRun[]> {
  const results: PluctRun[] = new Array(invocations.length);
  let next = 0;
  const lane = async () => {
    while (next < invocations.length) {
      const i = next++;
      results[i] = await runPluct(invocations[i] as string[]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, invocations.length) }, lane));
  return results;
}

const emptyDir = mkdtempSync(join(tmpdir(), 'pluct-cli-'));

/**
 * Writes a temporary .env (mode 0600) and returns its path and a cleanup.
 *
 * @example
 * const env = tempEnvFile({ USER_JWT_SECRET: secret });
 * await runPluct(['token', 'mint', '--sub', 'me', '--env-file', env.path]);
 */
export function tempEnvFile(values: Record<string, string>): { path: string; dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pluct-env-'));
  const path = join(dir, '.env');
  writeFileSync(
    path,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  return { path, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
