import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { JobFailure } from '../jobs/job-processor.js';
import { findExecutable } from '../process/find-executable.js';
import { formatSeconds } from '../process/format.js';
import { ProcessStartError, runProcess } from '../process/run-process.js';
import {
  engineUnavailable,
  startProgressTimer,
  type EngineProbe,
  type TranscribeOptions,
  type TranscriptionEngine,
} from './transcription-engine.js';

/** Options for {@link createPocketsphinxEngine}; all have Debian defaults. */
export interface PocketsphinxEngineOptions {
  /** Default `pocketsphinx_continuous` on PATH (Debian package `pocketsphinx`). */
  readonly program?: string | undefined;
  /** Default `/usr/share/pocketsphinx/model/en-us` (Debian package `pocketsphinx-en-us`). */
  readonly modelDir?: string | undefined;
  /** Kill pocketsphinx after this long; default 30 minutes. */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

/**
 * Joins pocketsphinx's hypothesis lines (one per utterance) into one transcript, dropping filler tokens such as
 * `<sil>` or `[NOISE]` and alternate-pronunciation markers such as `and(2)`.
 *
 * @example
 * parsePocketsphinxOutput('he was not\nan ill disposed young man\n'); // 'he was not an ill disposed young man'
 */
export function parsePocketsphinxOutput(stdout: string): string {
  return stdout
    .split(/\s+/)
    .filter((word) => word !== '' && !/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(word))
    .map((word) => word.replace(/\(\d+\)$/, ''))
    .join(' ');
}

/**
 * The default, fully offline engine: CMU PocketSphinx (`pocketsphinx_continuous`) with the US English model.
 * Expects a 16 kHz mono 16-bit WAV file, which `decodeAudio` produces.
 *
 * @example
 * const engine = createPocketsphinxEngine();
 * const text = await engine.transcribe(wavPath, { language: 'en', signal, onProgress: () => {} });
 */
export function createPocketsphinxEngine(options: PocketsphinxEngineOptions = {}): TranscriptionEngine {
  const program = options.program ?? 'pocketsphinx_continuous';
  const modelDir = options.modelDir ?? DEFAULT_POCKETSPHINX_MODEL_DIR;
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const model = {
    hmm: join(modelDir, 'en-us'),
    lm: join(modelDir, 'en-us.lm.bin'),
    dict: join(modelDir, 'cmudict-en-us.dict'),
  };

  async function probe(): Promise<EngineProbe> {
    if ((await findExecutable(program)) === null) {
      return {
        available: false,
        reason: `${program} is not installed (install the Debian packages pocketsphinx and pocketsphinx-en-us, or configure another engine)`,
      };
    }
    for (const path of Object.values(model)) {
      try {
        await access(path, constants.R_OK);
      } catch {
        return {
          available: false,
          reason: `the pocketsphinx US English model is missing at ${modelDir} (install the Debian package pocketsphinx-en-us)`,
        };
      }
    }
    return { available: true };
  }

  async function transcribe(wavPath: string, opts: TranscribeOptions): Promise<string> {
    const status = await probe();
    if (!status.available) throw engineUnavailable(status.reason);
    // Measured on a 2-core machine: ~2 s to load the model, then roughly 0.3 s per second of audio.
    const stopProgress = startProgressTimer(opts.onProgress, 2_000 + (opts.durationSec ?? 60) * 500);
    try {
      const args = ['-infile', wavPath, '-logfn', '/dev/null', '-hmm', model.hmm, '-lm', model.lm, '-dict', model.dict];
      const result = await runProcess(program, args, {
        signal: opts.signal,
        timeoutMs,
        maxStdoutBytes: 16 * 1024 * 1024,
      });
      if (result.timedOut) {
        throw new JobFailure(
          'transcription_failed',
          `Speech recognition took longer than ${formatSeconds(timeoutMs)}; send a shorter recording.`,
        );
      }
      if (result.exitCode !== 0) {
        throw new JobFailure(
          'transcription_failed',
          'Speech recognition failed on this audio; try again, or send a clearer or shorter recording.',
          {
            cause: new Error(`pocketsphinx exited with ${result.exitCode ?? result.killSignal}: ${result.stderrTail}`),
          },
        );
      }
      return parsePocketsphinxOutput(result.stdout);
    } catch (err) {
      if (err instanceof ProcessStartError)
        throw engineUnavailable(`${program} could not be started (${err.code})`, err);
      throw err;
    } finally {
      stopProgress();
    }
  }

  return { name: 'pocketsphinx', model: 'en-us', languages: ['en'], probe, transcribe };
}
