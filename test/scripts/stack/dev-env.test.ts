import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../../server/business-engine/config.js';
import { ensureEnvFile } from '../../../scripts/stack/dev-env.js';
import { ADMIN_TOKEN_PREFIX } from '../../../server/sandbox/chain-secrets.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pluct-devenv-'));
  dirs.push(d);
  return d;
}
const PATHS = { engineDb: './data/business-engine.db', tttDb: './data/tttranscribe.db' };

describe('ensureEnvFile', () => {
  it('creates a 0600 .env whose secrets the engine accepts as they are', async () => {
    const path = join(tempDir(), '.env');
    const state = await ensureEnvFile(path, PATHS);
    expect(state.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const v = state.values;
    expect(v['TTT_SHARED_SECRET']).toMatch(/^tttsk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.byteLength(v['USER_JWT_SECRET'] ?? '')).toBeGreaterThanOrEqual(32);
    expect(v['ADMIN_TOKEN']?.startsWith(ADMIN_TOKEN_PREFIX)).toBe(true);
    expect(v).toMatchObject({ ENGINE_DB: PATHS.engineDb, TTT_DB: PATHS.tttDb });
    // The same validation the engine runs at start: no secret is rejected or needs re-encoding.
    const config = loadEngineConfig({ ...v, ENGINE_DB: ':memory:' });
    expect(config.tttKeys).toHaveLength(1);
    expect(config.userJwt.mode).toBe('hs256');
    expect(config.serviceTokenKey.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('allows loopback media for the local CLI, saying why and that production must not', async () => {
    const path = join(tempDir(), '.env');
    const state = await ensureEnvFile(path, PATHS);
    expect(state.values['TTT_ALLOW_PRIVATE_CIDRS']).toBe('127.0.0.0/8,::1/128');
    const text = readFileSync(path, 'utf8');
    const comment = text.slice(0, text.indexOf('TTT_ALLOW_PRIVATE_CIDRS='));
    expect(comment).toMatch(/pluct transcribe \.\/clip\.mp4/);
    expect(comment).toMatch(/production deployment must NOT set this/);
    // TTTranscribe's own configuration accepts the value as it is written.
    const { mediaOptionsFromEnv } = await import('../../../server/tttranscribe/media-config.js');
    expect(mediaOptionsFromEnv(state.values)).toMatchObject({
      ok: true,
      options: { allowPrivateCidrs: ['127.0.0.0/8', '::1/128'] },
    });
  });

  it('never changes an existing file, and warns when others can read it', async () => {
    const path = join(tempDir(), '.env');
    writeFileSync(path, 'TTT_SHARED_SECRET=mine\n', { mode: 0o644 });
    const state = await ensureEnvFile(path, PATHS);
    expect(state.created).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('TTT_SHARED_SECRET=mine\n');
    expect(state.values).toEqual({ TTT_SHARED_SECRET: 'mine' });
    expect(state.modeWarning).toMatch(/readable by other users \(mode 644\); run: chmod 600/);
  });

  it('generates different secrets each time', async () => {
    const [a, b] = await Promise.all([
      ensureEnvFile(join(tempDir(), '.env'), PATHS),
      ensureEnvFile(join(tempDir(), '.env'), PATHS),
    ]);
    for (const name of ['TTT_SHARED_SECRET', 'USER_JWT_SECRET', 'ADMIN_TOKEN', 'SERVICE_TOKEN_PRIVATE_KEY']) {
      expect(a.values[name]).not.toBe(b.values[name]);
    }
  });
});
