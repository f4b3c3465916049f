import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { createMediaProcessor } from '../../../../server/tttranscribe/media/create-media-processor.js';
import type { MediaProcessorOptionsInput } from '../../../../server/tttranscribe/media/media-options.js';
import { assertMediaToolsInstalled, createMediaFixtures, type MediaFixtures } from '../../../fixtures/media.js';
import { routes, startMediaServer, type MediaServer } from '../../../fixtures/media-server.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';

/*
 * The processor's failure codes and clean-up, with real HTTP and ffmpeg but a stand-in transcription program
 * (a tiny script, through the command engine) so these stay fast; media-pipeline.test.ts runs real pocketsphinx.
 */
let media: MediaFixtures;
let server: MediaServer;
let work: string;
let jobsDir: string;
let echoEngine: string;
let failingEngine: string;
let fakeResolver: string;
const cleanup = createCleanupStack();

async function script(name: string, body: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function run(url: string, input: MediaProcessorOptionsInput = {}, language?: string): Promise<JobResult> {
  const processor = createMediaProcessor({
    allowPrivateCidrs: ['127.0.0.1/32'],
    tmpDir: jobsDir,
    maxBytes: 200_000,
    engine: { kind: 'command', command: [echoEngine, '{wav}'], name: 'echo', model: 'test' },
    ...input,
  });
  return processor({ jobId: 'job-1', url, language }, { signal: new AbortController().signal, onProgress: () => {} });
}

const failure = (code: string, message?: RegExp): unknown =>
  expect.objectContaining({
    name: 'JobFailure',
    code,
    ...(message ? { message: expect.stringMatching(message) } : {}),
  });

beforeAll(async () => {
  await assertMediaToolsInstalled();
  media = await createMediaFixtures();
  cleanup.defer(() => media.cleanup());
  work = await mkdtemp(join(tmpdir(), 'ttt-processor-test-'));
  cleanup.defer(() => rm(work, { recursive: true, force: true }));
  jobsDir = join(work, 'jobs');
  await mkdir(jobsDir);
  echoEngine = await script('echo-engine', 'echo "transcript of $(basename "$1")"');
  failingEngine = await script('failing-engine', 'echo "boom" >&2; exit 2');
  const mp3 = await media.mp3(await media.speech('hello world'));
  fakeResolver = await script('fake-resolver', `cp "${mp3}" "$1"`);
  server = await startMediaServer({
    '/speech.mp3': routes.file(mp3, 'audio/mpeg'),
    '/long.mp3': routes.file(await media.tone(20), 'audio/mpeg'),
    '/page.html': routes.html(),
    '/garbage.mp3': routes.file(await media.garbage(4096), 'audio/mpeg'),
    '/huge': routes.bytes(500_000, { withLength: true }),
    '/huge-chunked': routes.bytes(500_000, { withLength: false }),
    '/to-metadata': routes.redirect('http://169.254.169.254/latest/meta-data/iam/'),
  });
  cleanup.defer(() => server.close());
});

afterEach(async () => {
  // Every job, successful or not, removes its own temp directory.
  expect(await readdir(jobsDir)).toEqual([]);
});

afterAll(() => cleanup.run());

describe('createMediaProcessor', () => {
  it('fetches, decodes and transcribes with the configured engine', async () => {
    await expect(run(server.url('/speech.mp3'))).resolves.toEqual({
      transcript: 'transcript of audio.wav',
      engine: 'echo',
      model: 'test',
    });
  });

  it('runs share links through the resolver', async () => {
    await expect(
      run('https://vm.tiktok.com/ZM123/', { resolverCommand: [fakeResolver, '{output}', '{url}'] }),
    ).resolves.toMatchObject({ transcript: 'transcript of audio.wav' });
  });

  it('fails share links without a resolver, with guidance', async () => {
    await expect(run('https://vm.tiktok.com/ZM123/')).rejects.toEqual(
      failure('media_fetch_failed', /share page.*TTT_MEDIA_RESOLVER/s),
    );
  });

  it.each([
    ['/page.html', 'unsupported_media', /text\/html.*direct link/],
    ['/garbage.mp3', 'unsupported_media', /could not be read as audio or video/],
    ['/huge', 'media_too_large', /195\.3 KB/],
    ['/huge-chunked', 'media_too_large', /195\.3 KB/],
    ['/long.mp3', 'media_too_large', /10 second limit/],
    ['/missing', 'media_fetch_failed', /HTTP 404/],
    ['/to-metadata', 'media_fetch_failed', /link-local/],
  ])('answers %s with %s', async (path, code, message) => {
    await expect(run(server.url(path), { maxDurationSec: 10 })).rejects.toEqual(failure(code, message));
  });

  it('refuses loopback when it is not allowed', async () => {
    await expect(run(server.url('/speech.mp3'), { allowPrivateCidrs: [] })).rejects.toEqual(
      failure('media_fetch_failed', /loopback/),
    );
  });

  it('refuses a URL that is not one', async () => {
    await expect(run('not a url')).rejects.toEqual(failure('media_fetch_failed', /not a valid URL/));
  });

  it('maps an engine failure to transcription_failed', async () => {
    await expect(
      run(server.url('/speech.mp3'), { engine: { kind: 'command', command: [failingEngine, '{wav}'] } }),
    ).rejects.toEqual(failure('transcription_failed'));
  });

  it.each([
    [
      'a missing engine program',
      { engine: { kind: 'command', command: ['/nonexistent/ttt-absent-program', '{wav}'] } },
    ],
    ['a missing pocketsphinx', { engine: { kind: 'pocketsphinx', program: '/nonexistent/ttt-absent-program' } }],
    ['no engine at all', { engine: { kind: 'none' } }],
    ['a missing ffmpeg', { ffmpegPath: '/nonexistent/ttt-no-ffmpeg' }],
  ] as const)('fails with transcription_engine_unavailable for %s, before downloading', async (_, input) => {
    const hits = server.hits.length;
    await expect(run(server.url('/speech.mp3'), input)).rejects.toEqual(
      failure('transcription_engine_unavailable', /operator/),
    );
    expect(server.hits.length).toBe(hits);
  });

  it('refuses a language the engine does not support, before downloading', async () => {
    const hits = server.hits.length;
    await expect(run(server.url('/speech.mp3'), { engine: { kind: 'pocketsphinx' } }, 'fr')).rejects.toEqual(
      failure('unsupported_media', /only transcribes en, not fr/),
    );
    expect(server.hits.length).toBe(hits);
  });
});
