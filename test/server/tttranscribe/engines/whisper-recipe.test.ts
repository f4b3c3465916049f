/**
 * The whisper.cpp recipe of docs/speech-engines.md, run as written: its .env lines configure TTTranscribe's command
 * engine, with a stand-in whisper-cli (whisper.cpp's argument rules, a fixed transcript) on PATH.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../../server/tttranscribe/engines/create-engine.js';
import { resolveMediaOptions } from '../../../../server/tttranscribe/media/media-options.js';
import { mediaOptionsFromEnv } from '../../../../server/tttranscribe/media-config.js';
import { createTranscriberProbe } from '../../../../server/tttranscribe/transcriber-status.js';
import { librivoxClips } from '../../../fixtures/media.js';
import { writeWhisperStandIn } from '../../../helpers/whisper-standin.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/speech-engines.md', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'whisper-recipe-'));
const originalPath = process.env['PATH'];
afterAll(() => {
  process.env['PATH'] = originalPath;
  rmSync(dir, { recursive: true, force: true });
});

/** The fenced block right after the `<!-- recipe:whisper.cpp ... -->` marker, unindented. */
function recipeEnv(): Record<string, string> {
  const match = /<!-- recipe:whisper\.cpp[^>]*-->\s*```sh\n([\s\S]*?)\n\s*```/.exec(doc);
  if (!match) throw new Error('docs/speech-engines.md lost its whisper.cpp recipe block');
  return parseEnv(
    (match[1] as string)
      .split('\n')
      .map((l) => l.trim())
      .join('\n'),
  ) as Record<string, string>;
}

describe('docs/speech-engines.md: the whisper.cpp recipe', () => {
  it('configures the command engine that /health and pluct doctor name, and transcribes with whisper-cli', async () => {
    const env = recipeEnv();
    expect(env).toMatchObject({ TTT_TRANSCRIBER: 'command', TTT_TRANSCRIBER_MODEL: 'base.en' });
    writeWhisperStandIn(dir, {}, 'He was not an ill-disposed young man.');
    process.env['PATH'] = `${dir}:${originalPath}`;

    const parsed = mediaOptionsFromEnv(env);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const engine = createEngine(resolveMediaOptions(parsed.options).engine);
    expect([engine.name, engine.model, engine.languages]).toEqual(['whisper-cli', 'base.en', ['en']]);
    // What GET /health reports as `transcriber` (and pluct doctor prints): the engine in use, available.
    await expect(createTranscriberProbe({ engine })()).resolves.toEqual({
      engine: 'whisper-cli',
      model: 'base.en',
      available: true,
      reason: null,
    });

    const clip = (await librivoxClips()).find((c) => c.id.endsWith('0880'));
    if (!clip) throw new Error('the LibriVox clips (pocketsphinx-testdata) are missing');
    const text = await engine.transcribe(clip.wavPath, {
      language: 'en-GB',
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    expect(text).toBe('He was not an ill-disposed young man.');
    const argv = JSON.parse(
      readFileSync(join(dir, 'whisper-cli.log'), 'utf8').trim().split('\n').at(-1) as string,
    ) as string[];
    expect(argv).toEqual([
      '-m',
      '/opt/whisper.cpp/models/ggml-base.en.bin',
      '-l',
      'en',
      '-nt',
      '-np',
      '-f',
      clip.wavPath,
    ]);
  });

  it('fails the job as transcription_failed when whisper-cli refuses its arguments', async () => {
    writeWhisperStandIn(dir, {}, 'unused');
    process.env['PATH'] = `${dir}:${originalPath}`;
    const env = { ...recipeEnv(), TTT_TRANSCRIBER_COMMAND: 'whisper-cli --no-such-flag -f {wav}' };
    const parsed = mediaOptionsFromEnv(env);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const engine = createEngine(resolveMediaOptions(parsed.options).engine);
    const clip = (await librivoxClips())[0];
    await expect(
      engine.transcribe(clip?.wavPath as string, {
        language: undefined,
        signal: new AbortController().signal,
        onProgress: () => {},
      }),
    ).rejects.toMatchObject({ code: 'transcription_failed' });
  });
});
