import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPocketsphinxEngine,
  parsePocketsphinxOutput,
} from '../../../../server/tttranscribe/engines/pocketsphinx-engine.js';
import { assertMediaToolsInstalled, librivoxClips } from '../../../fixtures/media.js';
import { wordErrorRate } from '../../../fixtures/wer.js';

let dir: string;
const call = { language: 'en', signal: new AbortController().signal, onProgress: () => {} };
const failure = (code: string, message: RegExp): unknown =>
  expect.objectContaining({ name: 'JobFailure', code, message: expect.stringMatching(message) });

beforeAll(async () => {
  await assertMediaToolsInstalled();
  dir = await mkdtemp(join(tmpdir(), 'ttt-pocketsphinx-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('parsePocketsphinxOutput', () => {
  it('joins utterances and drops fillers and pronunciation variants', () => {
    expect(parsePocketsphinxOutput('he was not\nan ill disposed young man\n')).toBe(
      'he was not an ill disposed young man',
    );
    expect(parsePocketsphinxOutput('<s> and(2) [NOISE] mr <sil> ++UM++ john </s>')).toBe('and mr john');
    expect(parsePocketsphinxOutput('\n\n')).toBe('');
  });
});

describe('createPocketsphinxEngine', () => {
  it('is available with the Debian packages and names its model', async () => {
    const engine = createPocketsphinxEngine();
    expect(engine).toMatchObject({ name: 'pocketsphinx', model: 'en-us', languages: ['en'] });
    await expect(engine.probe()).resolves.toEqual({ available: true });
  });

  it('transcribes a LibriVox WAV directly', async () => {
    // The shortest clip (3 s): "he was not an ill disposed young man"; pocketsphinx hears "… an illness those …" (WER 25%).
    const clip = (await librivoxClips()).find((c) => c.id.endsWith('0880'));
    const progress: number[] = [];
    const text = await createPocketsphinxEngine().transcribe(clip?.wavPath as string, {
      ...call,
      durationSec: 3,
      onProgress: (f) => progress.push(f),
    });
    expect(wordErrorRate(clip?.reference as string, text)).toBeLessThanOrEqual(0.4);
    expect(progress.every((f) => f >= 0 && f < 1)).toBe(true);
  }, 30_000);

  it('reports a missing binary or model as unavailable and never invents a transcript', async () => {
    const noBinary = createPocketsphinxEngine({ program: join(dir, 'pocketsphinx_continuous') });
    await expect(noBinary.probe()).resolves.toEqual({
      available: false,
      reason: expect.stringMatching(/not installed.*pocketsphinx-en-us/),
    });
    await expect(noBinary.transcribe(join(dir, 'a.wav'), call)).rejects.toEqual(
      failure('transcription_engine_unavailable', /not installed/),
    );

    const noModel = createPocketsphinxEngine({ modelDir: join(dir, 'no-model') });
    await expect(noModel.probe()).resolves.toEqual({
      available: false,
      reason: expect.stringMatching(/model is missing/),
    });
    await expect(noModel.transcribe(join(dir, 'a.wav'), call)).rejects.toEqual(
      failure('transcription_engine_unavailable', /model is missing/),
    );
  });

  it('reports a file it cannot read as transcription_failed', async () => {
    await expect(createPocketsphinxEngine().transcribe(join(dir, 'does-not-exist.wav'), call)).rejects.toEqual(
      failure('transcription_failed', /Speech recognition failed/),
    );
  }, 30_000);
});
