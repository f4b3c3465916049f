import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertFfmpegAvailable,
  decodeAudio,
  type DecodeAudioOptions,
} from '../../../../server/tttranscribe/media/decode-audio.js';
import { parseWavHeader, readWavInfo } from '../../../../server/tttranscribe/media/wav-info.js';
import { startMediaServer } from '../../../fixtures/media-server.js';
import {
  assertMediaToolsInstalled,
  createMediaFixtures,
  librivoxClips,
  type MediaFixtures,
} from '../../../fixtures/media.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';

let media: MediaFixtures;
let dir: string;
let n = 0;
const cleanup = createCleanupStack();

const options = (overrides: Partial<DecodeAudioOptions> = {}): DecodeAudioOptions => ({
  ffmpegPath: 'ffmpeg',
  maxDurationSec: 60,
  timeoutMs: 60_000,
  signal: new AbortController().signal,
  ...overrides,
});
const out = (): string => join(dir, `audio-${n++}.wav`);
const failure = (code: string, message: RegExp): unknown =>
  expect.objectContaining({ name: 'JobFailure', code, message: expect.stringMatching(message) });

beforeAll(async () => {
  await assertMediaToolsInstalled();
  media = await createMediaFixtures();
  cleanup.defer(() => media.cleanup());
  dir = await mkdtemp(join(tmpdir(), 'ttt-decode-test-'));
  cleanup.defer(() => rm(dir, { recursive: true, force: true }));
});

afterAll(() => cleanup.run());

describe('decodeAudio', () => {
  it('turns an MP4 video into 16 kHz mono 16-bit WAV and reports its length', async () => {
    const clip = (await librivoxClips())[1];
    const progress: number[] = [];
    const wavPath = out();
    const decoded = await decodeAudio(
      await media.mp4(clip?.wavPath as string),
      wavPath,
      options({ onProgress: (f) => progress.push(f) }),
    );
    expect(decoded.wavPath).toBe(wavPath);
    expect(decoded.durationSec).toBeGreaterThan(2.5);
    expect(decoded.durationSec).toBeLessThan(3.5);
    expect(await readWavInfo(wavPath)).toMatchObject({ sampleRate: 16_000, channels: 1, bitsPerSample: 16 });
    expect(progress.every((f) => f >= 0 && f <= 1)).toBe(true);
  });

  it('decodes speech synthesised with espeak-ng (22 kHz) to 16 kHz', async () => {
    const decoded = await decodeAudio(
      await media.speech('Testing the decoder with a short sentence.'),
      out(),
      options(),
    );
    expect((await readWavInfo(decoded.wavPath)).sampleRate).toBe(16_000);
    expect(decoded.durationSec).toBeGreaterThan(1);
  });

  it('answers bytes that are not media with unsupported_media', async () => {
    await expect(decodeAudio(await media.garbage(5000), out(), options())).rejects.toEqual(
      failure('unsupported_media', /MP3, MP4/),
    );
  });

  it('answers a video without sound with unsupported_media', async () => {
    await expect(decodeAudio(await media.silentVideo(), out(), options())).rejects.toEqual(
      failure('unsupported_media', /no audio track/),
    );
  });

  it('never lets a downloaded playlist make ffmpeg fetch a URL', async () => {
    const server = await startMediaServer({});
    try {
      const playlist = join(dir, 'input');
      await writeFile(
        playlist,
        `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:5.0,\n${server.url('/internal.mp3')}\n#EXT-X-ENDLIST\n`,
      );
      await expect(decodeAudio(playlist, out(), options())).rejects.toEqual(
        failure('unsupported_media', /could not be read/),
      );
      expect(server.hits).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('refuses media longer than the limit with media_too_large', async () => {
    await expect(decodeAudio(await media.tone(12), out(), options({ maxDurationSec: 5 }))).rejects.toEqual(
      failure('media_too_large', /5 second limit/),
    );
  });

  it('says the engine is unavailable when ffmpeg is missing', async () => {
    const missing = join(dir, 'no-such-ffmpeg');
    await expect(assertFfmpegAvailable(missing)).rejects.toEqual(
      failure('transcription_engine_unavailable', /TTT_FFMPEG_PATH/),
    );
    await expect(decodeAudio(await media.tone(1), out(), options({ ffmpegPath: missing }))).rejects.toEqual(
      failure('transcription_engine_unavailable', /not installed/),
    );
    await expect(assertFfmpegAvailable('ffmpeg')).resolves.toBeUndefined();
  });

  it('rejects with the abort reason when aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(decodeAudio(await media.tone(1), out(), options({ signal: controller.signal }))).rejects.toBe(reason);
  });
});

describe('parseWavHeader', () => {
  it('walks past extra chunks to the data chunk', async () => {
    const wav = (await librivoxClips())[0]?.wavPath as string;
    const bytes = await readFile(wav);
    expect(parseWavHeader(bytes, bytes.length)).toMatchObject({ sampleRate: 16_000, channels: 1, bitsPerSample: 16 });
    expect(parseWavHeader(bytes, bytes.length).durationSec).toBeCloseTo(7.1, 1);
  });

  it('rejects files that are not WAV', async () => {
    const path = join(dir, 'not.wav');
    await writeFile(path, 'hello world, definitely not RIFF');
    await expect(readWavInfo(path)).rejects.toThrow(/RIFF/);
  });
});
