/**
 * `npm run bench:asr`: word error rate and real-time factor of the configured speech engine (the same TTT_TRANSCRIBER*
 * variables TTTranscribe reads, from the environment over the local .env) on the LibriVox clips of Debian's
 * pocketsphinx-testdata, or on any folder of name.wav + name.txt pairs (`-- --dir ./recordings`). Writes
 * bench/results/asr-latest.json and asr-latest.md (`--out` for another folder) and prints the table.
 *
 * WER = word edits (substitutions, deletions, insertions) / reference words, over the whole corpus.
 * RTF = seconds spent transcribing / seconds of audio (below 1 is faster than real time); model loading counts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadEnvFile } from '../../server/shared/config/load-env-file.js';
import { createEngine } from '../../server/tttranscribe/engines/create-engine.js';
import { decodeAudio } from '../../server/tttranscribe/media/decode-audio.js';
import { resolveMediaOptions } from '../../server/tttranscribe/media/media-options.js';
import { readWavInfo } from '../../server/tttranscribe/media/wav-info.js';
import { mediaOptionsFromEnv } from '../../server/tttranscribe/media-config.js';
import { LIBRIVOX_DIR, loadCorpus } from './corpus.js';
import { asrMarkdown, type AsrClipResult, type AsrReport } from './asr-report.js';
import { corpusWordErrorRate, normalizeWords, wordErrorRate } from './wer.js';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run bench:asr [-- --dir <folder of name.wav + name.txt>] [--out <folder>]\n' +
      'Scores the engine TTT_TRANSCRIBER configures (default pocketsphinx) on the pocketsphinx-testdata LibriVox clips.\n',
  );
  process.exit(0);
}
const fail = (message: string): never => {
  process.stderr.write(`bench:asr: ${message}\n`);
  process.exit(1);
};

loadEnvFile();
const parsed = mediaOptionsFromEnv(process.env);
if (!parsed.ok)
  fail(
    `the engine configuration is invalid:\n${parsed.problems.map((p) => `  ${p.variable} ${p.message}`).join('\n')}`,
  );
const options = resolveMediaOptions(parsed.ok ? parsed.options : {});
const engine = createEngine(options.engine);
const probe = await engine.probe();
if (!probe.available)
  fail(`the ${engine.name} engine is not available: ${probe.reason}. (npm start installs pocketsphinx when it can.)`);

const corpusDir = resolve(values.dir ?? LIBRIVOX_DIR);
const clips = await loadCorpus(corpusDir).catch((error: unknown) =>
  fail(
    `${error instanceof Error ? error.message : String(error)}${values.dir ? '' : ' (the LibriVox clips come with the Debian package pocketsphinx-testdata)'}`,
  ),
);
const scratch = mkdtempSync(join(tmpdir(), 'bench-asr-'));
const results: AsrClipResult[] = [];
try {
  for (const clip of clips) {
    // Engines take 16 kHz mono 16-bit WAV, as TTTranscribe's decoder produces; other WAVs are converted first.
    const info = await readWavInfo(clip.wavPath).catch(() => undefined);
    const ready = info && info.sampleRate === 16_000 && info.channels === 1 && info.bitsPerSample === 16;
    const audio = ready
      ? { wavPath: clip.wavPath, durationSec: info.durationSec }
      : await decodeAudio(clip.wavPath, join(scratch, `${results.length}.wav`), {
          ffmpegPath: options.ffmpegPath,
          maxDurationSec: options.maxDurationSec,
          timeoutMs: options.decodeTimeoutMs,
          signal: AbortSignal.timeout(options.decodeTimeoutMs),
          onProgress: () => {},
        });
    const started = performance.now();
    const hypothesis = await engine.transcribe(audio.wavPath, {
      language: undefined,
      signal: new AbortController().signal,
      onProgress: () => {},
      durationSec: audio.durationSec,
    });
    const seconds = (performance.now() - started) / 1000;
    const result: AsrClipResult = {
      id: clip.id,
      durationSec: audio.durationSec,
      processingSec: seconds,
      referenceWords: normalizeWords(clip.reference).length,
      wer: wordErrorRate(clip.reference, hypothesis),
      rtf: seconds / audio.durationSec,
      reference: clip.reference,
      hypothesis,
    };
    results.push(result);
    process.stdout.write(`${clip.id}: WER ${(result.wer * 100).toFixed(1)} %, RTF ${result.rtf.toFixed(2)}\n`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const audioSec = results.reduce((s, r) => s + r.durationSec, 0);
const processingSec = results.reduce((s, r) => s + r.processingSec, 0);
const report: AsrReport = {
  finishedAt: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  engine: { name: engine.name, model: engine.model },
  corpus: corpusDir,
  totals: {
    clips: results.length,
    audioSec,
    processingSec,
    rtf: processingSec / audioSec,
    wer: corpusWordErrorRate(results.map((r) => ({ reference: r.reference, hypothesis: r.hypothesis }))),
  },
  clips: results,
};
const outDir = resolve(values.out ?? fileURLToPath(new URL('../results', import.meta.url)));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'asr-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
const markdown = asrMarkdown(report);
writeFileSync(join(outDir, 'asr-latest.md'), markdown);
process.stdout.write(`\n${markdown}\nWrote ${join(outDir, 'asr-latest.json')} and asr-latest.md\n`);
