import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openJobDatabase } from '../../../server/tttranscribe/jobs/database.js';
import { createSqliteJobStore } from '../../../server/tttranscribe/jobs/sqlite-job-store.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ttt-worker-main-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('worker-main.ts (npm run start:ttt-worker)', () => {
  it('runs without a shared secret, processes the queued job of TTT_DB through the media pipeline, and exits 0 on SIGTERM', async () => {
    const dbPath = join(dir, 'ttt.db');
    const db = openJobDatabase(dbPath);
    const store = createSqliteJobStore(db);
    // TTT_TRANSCRIBER=none: the real pipeline fails the job with transcription_engine_unavailable, which proves it ran it.
    await store.insert({
      id: 'job_WORKERMAIN000000000001',
      tokenJti: 'jti-wm',
      subject: 'u',
      url: 'http://127.0.0.1:9/a.mp3',
      language: null,
      requestId: null,
      idempotencyKey: null,
    });
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/tttranscribe/worker-main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        PLUCT_ENV_FILE: join(dir, 'none.env'),
        TTT_DB: dbPath,
        TTT_TRANSCRIBER: 'none',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await vi.waitFor(async () => expect((await store.get('job_WORKERMAIN000000000001'))?.status).toBe('failed'), {
        timeout: 20_000,
        interval: 100,
      });
      expect(await store.get('job_WORKERMAIN000000000001')).toMatchObject({
        errorCode: 'transcription_engine_unavailable',
        leaseOwner: null,
        attempts: 1,
      });
      expect(output).toContain('"TTTranscribe worker started"');
      expect(child.exitCode).toBeNull(); // still running, waiting for work
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('"TTTranscribe worker stopped"');
    } finally {
      child.kill('SIGKILL');
      db.close();
    }
  }, 30_000);
});
