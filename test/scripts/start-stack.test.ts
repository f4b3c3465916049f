/**
 * `npm start` (scripts/start-stack.ts) as a process: a temp .env and data dir (PLUCT_ENV_FILE, PLUCT_DATA_DIR),
 * free ports, no docs build. First run: .env created 0600, banner with key ids and no secret, SIGINT stops both
 * services and exits 0. Second run on the same .env: the data is still there. Then one service dies: the other is
 * stopped and the stack exits 1. Last, the stack process is SIGKILLed: both services notice and drain.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createPluctClient } from '../../client/sdk/pluct-client.js';
import { parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { SignJWT } from 'jose';
import { freeLoopbackPort } from '../../scripts/net/free-port.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pluct-stack-'));
const envFile = join(dir, '.env');
const dataDir = join(dir, 'data');
const running: ChildProcess[] = [];
const orphans: number[] = []; // services of a SIGKILLed stack, killed here should the test fail

afterAll(() => {
  for (const child of running) if (child.exitCode === null && child.pid) killGroup(child.pid);
  for (const pid of orphans.filter(alive)) process.kill(-pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  for (const p of childPids(pid)) {
    try {
      process.kill(-p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

// The stack's children that are services (tsx may also run an esbuild helper process).
function servicePids(pid: number): number[] {
  return childPids(pid).filter((p) => /server\/(business-engine|tttranscribe)\/main\.ts/.test(commandLine(p)));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Stack {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  readonly engineUrl: string;
  readonly tttUrl: string;
}

async function startStack(): Promise<Stack> {
  const [enginePort, tttPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PLUCT_|TTT_|USER_JWT_|ADMIN_TOKEN|SERVICE_TOKEN_|ENGINE_)/.test(k)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-stack.ts'], {
    cwd: root,
    env: {
      ...inherited,
      PLUCT_ENV_FILE: envFile,
      PLUCT_DATA_DIR: dataDir,
      PLUCT_BUILD_DOCS: '0',
      LOG_LEVEL: 'warn',
      ENGINE_PORT: String(enginePort),
      TTT_PORT: String(tttPort),
      PLUCT_READY_TIMEOUT_MS: '60000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 70_000;
  while (!output.includes('Ctrl-C stops both services')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the stack did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    output: () => output,
    exited,
    engineUrl: `http://127.0.0.1:${enginePort}`,
    tttUrl: `http://127.0.0.1:${tttPort}`,
  };
}

function envValues(): Record<string, string> {
  return parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
}

function devClient(stack: Stack, sub: string) {
  const secret = new TextEncoder().encode(envValues()['USER_JWT_SECRET']);
  const getUserToken = () =>
    new SignJWT({ scope: 'ttt:transcribe credits:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(secret);
  return createPluctClient({ baseUrl: stack.engineUrl, getUserToken });
}

describe('npm start (process)', { timeout: 150_000 }, () => {
  it('creates a private .env, prints key ids but no secret, and stops both services on Ctrl-C', async () => {
    const stack = await startStack();
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const values = envValues();
    const out = stack.output();
    expect(out).toContain(`Created ${envFile} with fresh secrets (mode 0600)`);
    expect(out).toContain(`Business Engine   ${stack.engineUrl}`);
    expect(out).toContain(`TTTranscribe      ${stack.tttUrl}`);
    const kid = parseSharedSecret('TTT_SHARED_SECRET', values['TTT_SHARED_SECRET']).keyId;
    expect(out).toMatch(new RegExp(`TTT_SHARED_SECRET +${kid}`));
    expect(out).toMatch(new RegExp(`TTTranscribe accepts +${kid}`));
    expect(out).toMatch(/USER_JWT_SECRET +[0-9a-f]{16}/);
    expect(out).toMatch(/ADMIN_TOKEN +[0-9a-f]{16}/);
    expect(out).toMatch(/SERVICE_TOKEN_PRIVATE_KEY +\S+/);
    expect(out).toContain('npx pluct token mint --sub me');
    const jwk = JSON.parse(values['SERVICE_TOKEN_PRIVATE_KEY'] ?? '{}') as { d: string };
    for (const secret of [values['TTT_SHARED_SECRET'], values['USER_JWT_SECRET'], values['ADMIN_TOKEN'], jwk.d]) {
      expect(secret && secret.length > 20).toBe(true);
      expect(out).not.toContain(secret);
    }

    // Some state to find again after a restart: one credit spent.
    const vend = await devClient(stack, 'restart-user').vendToken();
    expect(vend.data?.balanceAfter).toBe(2);

    // Issue 18.3: each service's listen code answers headers over Node's limit with catalog problem+json.
    for (const url of [`${stack.engineUrl}/v1/credits/balance`, `${stack.tttUrl}/health`]) {
      const oversized = await fetch(url, { headers: { Authorization: `Bearer ${'a'.repeat(100_000)}` } });
      expect(oversized.status, url).toBe(431);
      expect(oversized.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await oversized.json()).toMatchObject({
        code: 'request_header_too_large',
        status: 431,
        details: { limitBytes: 16_384 },
      });
    }

    const services = servicePids(stack.child.pid as number);
    expect(services).toHaveLength(2);
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(stack.output()).toContain('Both services stopped.');
    expect(services.filter(alive)).toEqual([]);
  });

  it('keeps the data usable with the same .env, and stops the other service when one dies', async () => {
    const before = readFileSync(envFile, 'utf8');
    const stack = await startStack();
    expect(readFileSync(envFile, 'utf8')).toBe(before);
    expect(stack.output()).not.toContain('Created ');
    expect((await devClient(stack, 'restart-user').balance()).data?.balance).toBe(2);

    const services = servicePids(stack.child.pid as number);
    const tttPid = services.find((pid) => commandLine(pid).includes('tttranscribe')) as number;
    process.kill(tttPid, 'SIGKILL');
    expect(await stack.exited).toBe(1);
    expect(stack.output()).toContain(
      'tttranscribe was killed by SIGKILL (its output is above); stopping the other service.',
    );
    expect(services.filter(alive)).toEqual([]);
  });

  it('never leaves a service behind when the stack process itself is SIGKILLed: both drain and free their ports', async () => {
    const stack = await startStack();
    const services = servicePids(stack.child.pid as number);
    expect(services).toHaveLength(2);
    orphans.push(...services);
    stack.child.kill('SIGKILL');
    await stack.exited;
    // Each service drains for up to 10 s (SHUTDOWN_GRACE_MS) after noticing; give it that and a little more.
    const ports = [new URL(stack.engineUrl).port, new URL(stack.tttUrl).port].map(Number);
    const deadline = Date.now() + 13_000;
    while (
      (services.some(alive) || !(await Promise.all(ports.map(portFree))).every(Boolean)) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(services.filter(alive)).toEqual([]);
    expect(await Promise.all(ports.map(portFree))).toEqual([true, true]);
  });
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
