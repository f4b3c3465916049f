import { describe, expect, it } from 'vitest';
import { createEngine, createNoEngine } from '../../../../server/tttranscribe/engines/create-engine.js';
import { estimateProgress, primaryLanguage } from '../../../../server/tttranscribe/engines/transcription-engine.js';

describe('createEngine', () => {
  it('builds each kind', () => {
    expect(createEngine({ kind: 'pocketsphinx' })).toMatchObject({ name: 'pocketsphinx', model: 'en-us' });
    expect(
      createEngine({
        kind: 'command',
        command: '/opt/whisper/whisper-cli -m "/models/ggml base.bin" -nt -f {wav}',
        name: 'whisper.cpp',
        model: 'base',
      }),
    ).toMatchObject({ name: 'whisper.cpp', model: 'base' });
    expect(
      createEngine({ kind: 'command', command: ['whisper-cli', '-f', '{wav}'], languages: ['EN', 'de'] }),
    ).toMatchObject({ name: 'whisper-cli', model: null, languages: ['en', 'de'] });
    expect(createEngine({ kind: 'none' })).toMatchObject({ name: 'none', model: null });
  });

  it.each([
    [{ kind: 'command' }, /command/],
    [{ kind: 'command', command: '' }, /must name a program/],
    [{ kind: 'command', command: [] }, /must name a program/],
    [{ kind: 'command', command: 'whisper-cli -f audio.wav' }, /\{wav\}/],
    [{ kind: 'command', command: 'whisper-cli -f {wav} --key {apiKey}' }, /placeholders/],
    [{ kind: 'command', command: 'whisper-cli -f {wav}', outputFile: '{secret}.txt' }, /outputFile/],
    [{ kind: 'command', command: 'whisper-cli -f "{wav}' }, /Unterminated/],
    [{ kind: 'command', command: 'x {wav}', timeoutMs: 0 }, /timeoutMs/],
    [{ kind: 'pocketsphinx', modelDir: '' }, /modelDir/],
    [{ kind: 'pocketsphinx', command: 'x' }, /command/],
    [{ kind: 'whisper' }, /kind/],
    [{}, /kind/],
  ])('rejects %j when built', (config, message) => {
    expect(() => createEngine(config as never)).toThrow(message);
  });
});

describe('the none engine', () => {
  it('is never available and never transcribes', async () => {
    const engine = createNoEngine();
    await expect(engine.probe()).resolves.toEqual({
      available: false,
      reason: expect.stringMatching(/TTT_TRANSCRIBER/),
    });
    await expect(
      engine.transcribe('/tmp/a.wav', { language: 'en', signal: new AbortController().signal, onProgress: () => {} }),
    ).rejects.toMatchObject({ name: 'JobFailure', code: 'transcription_engine_unavailable' });
  });
});

describe('engine helpers', () => {
  it('takes the primary language subtag', () => {
    expect(primaryLanguage('en-US')).toBe('en');
    expect(primaryLanguage('PT_br')).toBe('pt');
  });

  it('estimates progress without ever claiming to be done', () => {
    expect(estimateProgress(0, 10_000)).toBe(0);
    expect(estimateProgress(5_000, 10_000)).toBe(0.5);
    expect(estimateProgress(50_000, 10_000)).toBe(0.95);
    expect(estimateProgress(5, 0)).toBe(0);
  });
});
