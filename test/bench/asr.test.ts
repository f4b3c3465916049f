/**
 * `npm run bench:asr` as a process on a folder of wav + txt pairs, with the command engine running a stand-in
 * whisper-cli whose answers are known, so the WER it reports can be checked word by word.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { AsrReport } from '../../bench/asr/asr-report.js';
import { loadCorpus, parseSphinxTranscription } from '../../bench/asr/corpus.js';
import { librivoxClips } from '../fixtures/media.js';
import { writeWhisperStandIn } from '../helpers/whisper-standin.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-asr-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:asr', { timeout: 60_000 }, () => {
  it('reads Sphinx transcription files and wav + txt folders', async () => {
    expect(parseSphinxTranscription('<s> he was not </s> (clip-1)\n\n', '/d')).toEqual([
      { id: 'clip-1', wavPath: '/d/clip-1.wav', reference: 'he was not' },
    ]);
    const folder = join(dir, 'pairs-only');
    mkdirSync(folder);
    writeFileSync(join(folder, 'b.wav'), 'x');
    writeFileSync(join(folder, 'b.txt'), ' second \n');
    writeFileSync(join(folder, 'a.wav'), 'x');
    writeFileSync(join(folder, 'a.txt'), 'first');
    writeFileSync(join(folder, 'lonely.wav'), 'x');
    expect((await loadCorpus(folder)).map((c) => [c.id, c.reference])).toEqual([
      ['a', 'first'],
      ['b', 'second'],
    ]);
    await expect(loadCorpus(join(dir))).rejects.toThrow(
      /holds no clips: put name\.wav files there with their reference transcripts as name\.txt/,
    );
  });

  it('reports WER and real-time factor of the configured engine, per clip and overall, in the results folder', async () => {
    const clips = await librivoxClips();
    const corpus = join(dir, 'corpus');
    mkdirSync(corpus);
    const [first, second, third] = clips as [(typeof clips)[0], (typeof clips)[0], (typeof clips)[0]];
    copyFileSync(first.wavPath, join(corpus, 'a.wav'));
    writeFileSync(join(corpus, 'a.txt'), 'one two three four');
    copyFileSync(second.wavPath, join(corpus, 'b.wav'));
    writeFileSync(join(corpus, 'b.txt'), 'five six seven eight');
    // Not 16 kHz mono: converted with ffmpeg first, so the engine gets a scratch file and answers with the fallback.
    await run('ffmpeg', [
      '-v',
      'error',
      '-nostdin',
      '-y',
      '-i',
      third.wavPath,
      '-ar',
      '8000',
      '-ac',
      '2',
      join(corpus, 'c.wav'),
    ]);
    writeFileSync(join(corpus, 'c.txt'), 'nine ten');
    const bin = join(dir, 'bin');
    writeWhisperStandIn(bin, { 'a.wav': 'One, two, three four.', 'b.wav': 'five six SEVEN' }, 'nine ten eleven');
    const out = join(dir, 'results');
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PLUCT_|TTT_)/.test(k))),
      PATH: `${bin}:${process.env['PATH']}`,
      PLUCT_ENV_FILE: join(dir, 'no.env'),
      TTT_TRANSCRIBER: 'command',
      TTT_TRANSCRIBER_COMMAND: 'whisper-cli -m /models/ggml-base.en.bin -nt -np -f {wav}',
      TTT_TRANSCRIBER_MODEL: 'base.en',
    };
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/asr/run-asr.ts', '--dir', corpus, '--out', out],
      { cwd: root, env },
    );
    expect(stdout).toContain('a: WER 0.0 %');
    expect(stdout).toContain('b: WER 25.0 %');
    expect(stdout).toContain('c: WER 50.0 %');
    const report = JSON.parse(readFileSync(join(out, 'asr-latest.json'), 'utf8')) as AsrReport;
    expect(report.engine).toEqual({ name: 'whisper-cli', model: 'base.en' });
    expect(report.clips.map((c) => [c.id, c.referenceWords, c.wer])).toEqual([
      ['a', 4, 0],
      ['b', 4, 0.25],
      ['c', 2, 0.5],
    ]);
    // Corpus WER: 2 edits over 10 reference words, not the mean of the clips' rates.
    expect(report.totals).toMatchObject({ clips: 3, wer: 0.2 });
    expect(report.totals.audioSec).toBeCloseTo(
      report.clips.reduce((s, c) => s + c.durationSec, 0),
      6,
    );
    expect(report.totals.rtf).toBeCloseTo(report.totals.processingSec / report.totals.audioSec, 6);
    expect(report.clips.every((c) => c.rtf > 0 && c.durationSec > 2)).toBe(true);
    const markdown = readFileSync(join(out, 'asr-latest.md'), 'utf8');
    expect(markdown).toContain('# Speech recognition: whisper-cli (base.en)');
    expect(markdown).toMatch(/\*\*WER 20\.0 %\*\* over 3 clips/);
  });

  it('stops naming the reason when the engine is not available', async () => {
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PLUCT_|TTT_)/.test(k))),
      PLUCT_ENV_FILE: join(dir, 'no.env'),
      TTT_TRANSCRIBER: 'command',
      TTT_TRANSCRIBER_COMMAND: '/nonexistent/whisper-cli -f {wav}',
    };
    const failed = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/asr/run-asr.ts', '--out', join(dir, 'unused')],
      { cwd: root, env },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      'bench:asr: the whisper-cli engine is not available: the configured transcription program /nonexistent/whisper-cli is not installed',
    );
  });
});
