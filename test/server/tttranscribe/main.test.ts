import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTttranscribeClient } from '../../../generated/tttranscribe/client.js';
import { generateSharedSecret, parseSharedSecret } from '../../../server/protocol/engine-auth-secret.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ttt-main-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Starts `node --import tsx server/tttranscribe/main.ts`. Every variable it reads is set (blank = unset), so a
 * developer's .env in the repository cannot change what the test sees.
 */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/tttranscribe/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      TTT_SHARED_SECRET: '',
      TTT_SHARED_SECRET_NEXT: '',
      TTT_HOST: '127.0.0.1',
      TTT_PORT: '0',
      TTT_DB: join(dir, 'ttt.db'),
      TTT_SERVICE_TOKEN_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
      TTT_SERVICE_TOKEN_JWKS_FILE: '',
      TTT_ALLOWED_MEDIA_HOSTS: '',
      TTT_TRANSCRIBER: 'none',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const line = stdout.split('\n').find((l) => l.includes('"TTTranscribe listening"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  listening.catch(() => undefined); // a test that expects start-up to fail never awaits it
  return { child, listening, exited, output: () => ({ stdout, stderr }) };
}

// Each test spawns a process (tsx start-up dominates), so they run side by side.
describe.concurrent('main.ts', () => {
  it('starts, logs its key id (never the secret), serves, and exits 0 on SIGTERM', async () => {
    const secret = generateSharedSecret();
    const main = startMain({ TTT_SHARED_SECRET: secret });
    const url = await main.listening;
    const { data } = await createTttranscribeClient({ baseUrl: url }).GET('/health');
    expect(data?.transcriber).toMatchObject({ engine: 'none', available: false });
    main.child.kill('SIGTERM');
    expect(await main.exited).toBe(0);
    const { stdout } = main.output();
    expect(stdout).toContain(parseSharedSecret('TTT_SHARED_SECRET', secret).keyId);
    expect(stdout).toContain('TTTranscribe stopped');
    expect(stdout).not.toContain(secret.slice(6));
  });

  it('warns about TTT_ALLOW_PRIVATE_CIDRS on loopback, and refuses it on a public TTT_HOST unless confirmed', async () => {
    const secret = generateSharedSecret();
    const local = startMain({ TTT_SHARED_SECRET: secret, TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8' });
    await local.listening;
    local.child.kill('SIGTERM');
    expect(await local.exited).toBe(0);
    const warning = local
      .output()
      .stdout.split('\n')
      .find((l) => l.includes('"TTT_ALLOW_PRIVATE_CIDRS: media may be fetched'));
    expect(JSON.parse(warning ?? '{}')).toMatchObject({ level: 40, allowPrivateCidrs: ['127.0.0.0/8'] });
    const exposed = startMain({
      TTT_SHARED_SECRET: secret,
      TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8',
      TTT_HOST: '0.0.0.0',
    });
    expect(await exposed.exited).toBe(1);
    expect(exposed.output().stderr).toMatch(
      /TTTranscribe cannot start[\s\S]*TTT_ALLOW_PRIVATE_CIDRS: allows media fetches from non-public ranges \(127\.0\.0\.0\/8\) while TTT_HOST=0\.0\.0\.0/,
    );
  });

  it('refuses to start without TTT_SHARED_SECRET, naming the variable and the rule', async () => {
    const main = startMain({ TTT_SHARED_SECRET: '' });
    expect(await main.exited).toBe(1);
    expect(main.output().stderr).toMatch(/TTTranscribe cannot start[\s\S]*TTT_SHARED_SECRET: must be 'tttsk_'/);
  });
});
