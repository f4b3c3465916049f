import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayCluster, type ThrowawayCluster } from '../../../../scripts/postgres/throwaway-cluster.js';
import { freeLoopbackPort } from '../../../../scripts/net/free-port.js';
import { openTttStorage } from '../../../../server/tttranscribe/storage.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';
import { createTestDatabase } from '../../../helpers/postgres.js';
import { startTttTestApp, type TttTestApp } from '../../../helpers/ttt-app.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const URL_OK = 'https://media.example.com/clip.mp4';

describe('TTTranscribe replicas on one PostgreSQL database', () => {
  it('a nonce one replica accepted is engine_auth_replayed on the other', async () => {
    const db = await createTestDatabase('ttt_replicas');
    const one = await startTttTestApp({ storage: await openTttStorage(db.url, { poolMax: 2 }) });
    const two = await startTttTestApp({ storage: await openTttStorage(db.url, { poolMax: 2 }), issuer: one.issuer });
    try {
      const nonce = 'AAAAAAAAAAAAAAAAAAAAAA';
      const first = await one.clientWith({ nonce }).POST('/test/validate-engine-auth', { body: { probe: true } });
      expect(first.response.status).toBe(200);
      const replayed = await two.clientWith({ nonce }).POST('/test/validate-engine-auth', { body: { probe: true } });
      expect(replayed.response.status).toBe(401);
      expect(replayed.error).toMatchObject({ code: 'engine_auth_replayed' });
      // and a job submitted through one is read through the other
      const { data } = await one.client.POST('/transcribe', {
        body: { url: URL_OK },
        headers: { Authorization: `Bearer ${await one.issuer.mint()}` },
      });
      expect(
        (await two.client.GET('/status/{jobId}', { params: { path: { jobId: String(data?.jobId) } } })).data,
      ).toMatchObject({ jobId: data?.jobId, status: 'queued' });
    } finally {
      await one.close();
      await two.close();
      await db.drop();
    }
  });
});

describe('TTT_DB unreachable at start', () => {
  it('openTttStorage refuses naming TTT_DB and the cause, with the password redacted', async () => {
    const port = await freeLoopbackPort();
    const url = `postgres://ttt:s3cret-pw@127.0.0.1:${port}/ttt`;
    const error = await openTttStorage(url, { poolMax: 1 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      new RegExp(
        `^TTT_DB: cannot open the PostgreSQL job database at postgres://ttt:\\*\\*\\*@127\\.0\\.0\\.1:${port}/ttt: .*ECONNREFUSED`,
      ),
    );
    expect(error?.message).not.toContain('s3cret-pw');
  });

  it('npm run start:ttt exits 1 with that message, never the password', async () => {
    const port = await freeLoopbackPort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/tttranscribe/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        PLUCT_ENV_FILE: '/nonexistent/.env',
        TTT_SHARED_SECRET: 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
        TTT_PORT: '0',
        TTT_TRANSCRIBER: 'none',
        LOG_LEVEL: 'silent',
        TTT_SERVICE_TOKEN_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
        TTT_DB: `postgresql://ttt:s3cret-pw@127.0.0.1:${port}/ttt`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toMatch(
      /TTTranscribe cannot start: TTT_DB: cannot open the PostgreSQL job database at postgresql:\/\/ttt:\*\*\*@127\.0\.0\.1/,
    );
    expect(output).not.toContain('s3cret-pw');
  }, 30_000);
});

describe('the database lost mid-run and back', () => {
  let cluster: ThrowawayCluster;
  let ttt: TttTestApp;
  const cleanup = createCleanupStack();
  beforeAll(async () => {
    cluster = await startThrowawayCluster();
    cleanup.defer(() => cluster.stop());
    const url = await cluster.createDatabase('ttt_lost');
    ttt = await startTttTestApp({ storage: await openTttStorage(url, { poolMax: 2 }) });
    cleanup.defer(() => ttt.close());
  }, 60_000);
  afterAll(() => cleanup.run());

  const submit = async () =>
    ttt.client.POST('/transcribe', {
      body: { url: URL_OK },
      headers: { Authorization: `Bearer ${await ttt.issuer.mint()}` },
    });

  it('answers 503 service_unavailable (retryable, Retry-After) while it is down, writes nothing half, and recovers', async () => {
    const before = await submit();
    expect(before.response.status).toBe(202);

    await cluster.pause();
    for (const attempt of [
      await submit(),
      await ttt.client.GET('/status/{jobId}', { params: { path: { jobId: String(before.data?.jobId) } } }),
    ]) {
      expect(attempt.response.status).toBe(503);
      expect(attempt.error).toMatchObject({
        code: 'service_unavailable',
        retryable: true,
        details: { reason: 'database_unavailable' },
      });
      expect(Number(attempt.response.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await ttt.service.worker.runOnce()).toBe(0); // a worker's failed claim is logged, not thrown

    await cluster.resume();
    const after = await submit();
    expect(after.response.status).toBe(202);
    expect(await ttt.service.store.countByState()).toEqual({ queued: 2 });
    expect(await ttt.service.worker.drain()).toBe(2);
    expect(await ttt.service.store.countByState()).toEqual({ completed: 2 });
  }, 60_000);
});
