/**
 * `npm run start:cluster` as a process: a throwaway PostgreSQL, HAProxy, 2 engines, 1 TTTranscribe API and 1
 * worker with the secrets of a fresh .env; a banner with the URLs and no secret; Ctrl-C stops everything.
 * Needs the PostgreSQL backends and the separate workers of issue 19: until they are merged it fails saying so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../scripts/net/free-port.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pluct-start-cluster-'));
const running: ChildProcess[] = [];
afterAll(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startCluster(args: string[], env: Record<string, string> = {}) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(PLUCT_|TTT_|USER_JWT_|ADMIN_TOKEN|SERVICE_TOKEN_|ENGINE_|CLUSTER_)/.test(k),
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-cluster.ts', ...args], {
    cwd: root,
    env: {
      ...inherited,
      PLUCT_ENV_FILE: join(dir, '.env'),
      PLUCT_DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'warn',
      TTT_TRANSCRIBER: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('npm run start:cluster (process)', { timeout: 120_000 }, () => {
  it('refuses impossible replica counts before starting anything', async () => {
    const run = startCluster(['--engines', '0']);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('--engines must be a whole number from 1 to 16; got 0');
  });

  it('brings the topology up behind HAProxy, prints the URLs and no secret, and stops everything on Ctrl-C', async () => {
    const [enginePort, tttPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const run = startCluster(['--engines', '2', '--ttts', '1', '--workers', '1'], {
      ENGINE_PORT: String(enginePort),
      TTT_PORT: String(tttPort),
    });
    const deadline = Date.now() + 90_000;
    while (!run.output().includes('Ctrl-C stops everything.')) {
      if (run.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the cluster did not come up:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const out = run.output();
    const engineUrl = `http://127.0.0.1:${enginePort}`;
    expect(out).toContain(`Business Engine (HAProxy)   ${engineUrl}   -> engine-1 http://127.0.0.1:`);
    expect(out).toContain(`TTTranscribe (HAProxy)      http://127.0.0.1:${tttPort}   -> ttt-1 `);
    expect(out).toContain('Workers                     worker-1');
    expect(out).toMatch(/Engine database +postgres:\/\/pluct@127\.0\.0\.1:\d+\/pluct_engine \(throwaway\)/);
    const values = parseEnv(readFileSync(join(dir, '.env'), 'utf8')) as Record<string, string>;
    for (const name of ['TTT_SHARED_SECRET', 'USER_JWT_SECRET', 'ADMIN_TOKEN']) expect(out).not.toContain(values[name]);

    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await fetch(`${engineUrl}/health`)).headers.get('x-instance-id') ?? '');
    expect([...seen].sort()).toEqual(['engine-1', 'engine-2']);

    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('Everything stopped.');
    expect(await accepts(enginePort)).toBe(false);
  });
});
