import { access, chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobStage } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { createMediaProcessor } from '../../../../server/tttranscribe/media/create-media-processor.js';
import { assertMediaToolsInstalled, createMediaFixtures, type MediaFixtures } from '../../../fixtures/media.js';
import { routes, startMediaServer, type MediaServer } from '../../../fixtures/media-server.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';

/*
 * Aborting a job mid-way: the worker aborts ctx.signal. A TimeoutError reason (what AbortSignal.timeout gives)
 * becomes job_timed_out; any other reason (e.g. shutdown) is passed through. Children die, temp dirs go.
 */
let media: MediaFixtures;
let server: MediaServer;
let work: string;
let jobsDir: string;
let marker: string;
let slowEngine: string;
const cleanup = createCleanupStack();

beforeAll(async () => {
  await assertMediaToolsInstalled();
  media = await createMediaFixtures();
  cleanup.defer(() => media.cleanup());
  work = await mkdtemp(join(tmpdir(), 'ttt-abort-test-'));
  cleanup.defer(() => rm(work, { recursive: true, force: true }));
  jobsDir = join(work, 'jobs');
  await mkdir(jobsDir);
  marker = join(work, 'engine-started');
  slowEngine = join(work, 'slow-engine');
  await writeFile(slowEngine, `#!/bin/sh\ntouch "${marker}"\nexec sleep 30\n`);
  await chmod(slowEngine, 0o755);
  server = await startMediaServer({
    '/speech.mp3': routes.file(await media.mp3(await media.speech('abort me')), 'audio/mpeg'),
    '/slow.mp3': routes.slow({ intervalMs: 50 }),
  });
  cleanup.defer(() => server.close());
});

afterAll(() => cleanup.run());

function start(path: string, controller: AbortController, stages: JobStage[] = []): Promise<unknown> {
  const processor = createMediaProcessor({
    allowPrivateCidrs: ['127.0.0.1/32'],
    tmpDir: jobsDir,
    engine: { kind: 'command', command: [slowEngine, '{wav}'] },
  });
  return processor(
    { jobId: 'job-abort', url: server.url(path), language: undefined },
    { signal: controller.signal, onProgress: (stage) => stages.push(stage) },
  ).catch((err: unknown) => err);
}

describe('aborting a job', () => {
  it('during the download: job_timed_out, temp dir removed', async () => {
    const controller = new AbortController();
    const hits = server.hits.length;
    const outcome = start('/slow.mp3', controller);
    await vi.waitFor(() => expect(server.hits.length).toBe(hits + 1));
    controller.abort(new DOMException('The job time limit passed', 'TimeoutError'));
    expect(await outcome).toMatchObject({
      name: 'JobFailure',
      code: 'job_timed_out',
      message: expect.stringMatching(/time limit/),
    });
    expect(await readdir(jobsDir)).toEqual([]);
  });

  it('during transcription: kills the engine, job_timed_out, temp dir removed', async () => {
    await rm(marker, { force: true });
    const controller = new AbortController();
    const stages: JobStage[] = [];
    const outcome = start('/speech.mp3', controller, stages);
    await vi.waitFor(() => access(marker), { timeout: 10_000 });
    expect(stages.at(-1)).toBe('transcribing');
    expect(await readdir(jobsDir)).toHaveLength(1);
    controller.abort(new DOMException('The job time limit passed', 'TimeoutError'));
    expect(await outcome).toMatchObject({ name: 'JobFailure', code: 'job_timed_out' });
    expect(await readdir(jobsDir)).toEqual([]);
  });

  it('for another reason (shutdown): rethrows that reason unchanged', async () => {
    await rm(marker, { force: true });
    const controller = new AbortController();
    const outcome = start('/speech.mp3', controller);
    await vi.waitFor(() => access(marker), { timeout: 10_000 });
    const shutdown = new Error('service shutting down');
    controller.abort(shutdown);
    expect(await outcome).toBe(shutdown);
    expect(await readdir(jobsDir)).toEqual([]);
  });

  it('before it starts: does nothing and fails at once', async () => {
    const hits = server.hits.length;
    const outcome = start(
      '/speech.mp3',
      (() => {
        const c = new AbortController();
        c.abort(new DOMException('late', 'TimeoutError'));
        return c;
      })(),
    );
    expect(await outcome).toMatchObject({ code: 'job_timed_out' });
    expect(server.hits.length).toBe(hits);
    expect(await readdir(jobsDir)).toEqual([]);
  });
});
