import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStage } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { createMediaProcessor } from '../../../../server/tttranscribe/media/create-media-processor.js';
import {
  assertMediaToolsInstalled,
  createMediaFixtures,
  librivoxClips,
  type LibrivoxClip,
  type MediaFixtures,
} from '../../../fixtures/media.js';
import { routes, startMediaServer, type MediaServer } from '../../../fixtures/media-server.js';
import { corpusWordErrorRate, wordErrorRate } from '../../../fixtures/wer.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';

/*
 * End-to-end: real HTTP download from a loopback server, real ffmpeg decoding, real pocketsphinx (en-us) recognition.
 * Only the three shortest LibriVox clips (3.0 s, 3.3 s, 5.3 s) are transcribed, to keep the suite fast on 2 cores.
 *
 * Measured (pocketsphinx 0.8+5prealpha-15, ffmpeg 5.1, Debian bookworm, en-us model), deterministic run to run:
 *   0880.mp3 25.0% (2/8), 0930.mp3 62.5% (5/8), 0890.mp4 42.9% (6/14) → corpus 43.3% (13/30 words).
 * The threshold sits a little above that, so a real regression (wrong sample rate, truncated audio, wrong model)
 * fails while small codec differences between ffmpeg builds do not.
 */
const MAX_CORPUS_WER = 0.5;

let media: MediaFixtures;
let server: MediaServer;
let jobsDir: string;
let clips: Map<string, LibrivoxClip>;
const cleanup = createCleanupStack();

beforeAll(async () => {
  await assertMediaToolsInstalled();
  media = await createMediaFixtures();
  cleanup.defer(() => media.cleanup());
  jobsDir = await mkdtemp(join(tmpdir(), 'ttt-pipeline-jobs-'));
  cleanup.defer(() => rm(jobsDir, { recursive: true, force: true }));
  clips = new Map((await librivoxClips()).map((clip) => [clip.id.slice(-4), clip]));
  const clip = (id: string): LibrivoxClip => clips.get(id) as LibrivoxClip;
  server = await startMediaServer({
    '/0880.mp3': routes.file(await media.mp3(clip('0880').wavPath), 'audio/mpeg'),
    '/0930.mp3': routes.file(await media.mp3(clip('0930').wavPath), 'audio/mpeg'),
    '/0890.mp4': routes.file(await media.mp4(clip('0890').wavPath), 'video/mp4'),
  });
  cleanup.defer(() => server.close());
});

afterAll(() => cleanup.run());

describe('media pipeline with pocketsphinx', () => {
  const results: Array<{ reference: string; hypothesis: string }> = [];

  it.each([
    ['0880', '/0880.mp3'],
    ['0930', '/0930.mp3'],
    ['0890', '/0890.mp4'],
  ])(
    'transcribes LibriVox clip %s served as %s',
    async (id, path) => {
      const processor = createMediaProcessor({ allowPrivateCidrs: ['127.0.0.1/32'], tmpDir: jobsDir });
      const progress: Array<[JobStage, number]> = [];
      const result = await processor(
        { jobId: `job-${id}`, url: server.url(path), language: 'en-US' },
        { signal: new AbortController().signal, onProgress: (stage, p) => progress.push([stage, p]) },
      );
      const reference = (clips.get(id) as LibrivoxClip).reference;
      results.push({ reference, hypothesis: result.transcript });
      console.info(`[${id}] WER ${wordErrorRate(reference, result.transcript).toFixed(3)}: "${result.transcript}"`);

      expect(result).toMatchObject({ engine: 'pocketsphinx', model: 'en-us' });
      expect(result.transcript.length).toBeGreaterThan(0);
      expect(wordErrorRate(reference, result.transcript)).toBeLessThan(0.8);
      // Progress goes through every stage in order, never backwards, and ends at 1.
      expect([...new Set(progress.map(([stage]) => stage))]).toEqual(['fetching', 'decoding', 'transcribing']);
      const values = progress.map(([, p]) => p);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values.at(-1)).toBe(1);
      // The job's temp dir is gone.
      expect(await readdir(jobsDir)).toEqual([]);
    },
    60_000,
  );

  it('keeps the corpus word error rate under the threshold', () => {
    expect(results).toHaveLength(3);
    const wer = corpusWordErrorRate(results);
    console.info(`LibriVox corpus WER over ${results.length} clips: ${(wer * 100).toFixed(1)}%`);
    expect(wer).toBeLessThan(MAX_CORPUS_WER);
  });
});
