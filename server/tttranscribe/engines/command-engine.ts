import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { JobFailure } from '../jobs/job-processor.js';
import { fillOne, fillTemplate } from '../process/command-line.js';
import { findExecutable } from '../process/find-executable.js';
import { formatSeconds } from '../process/format.js';
import { ProcessStartError, runProcess } from '../process/run-process.js';
import {
  engineUnavailable,
  primaryLanguage,
  startProgressTimer,
  type EngineProbe,
  type TranscribeOptions,
  type TranscriptionEngine,
} from './transcription-engine.js';

/** Options for {@link createCommandEngine}; `create-engine.ts` validates them. */
export interface CommandEngineOptions {
  /**
   * argv template, run without a shell. Placeholders: `{wav}` (required: the 16 kHz mono WAV), `{language}`
   * (the job's primary language subtag, or `defaultLanguage`), `{output}` (a path prefix inside the job's temp dir).
   */
  readonly command: readonly string[];
  /** When set, the transcript is read from this file (template, e.g. `{output}.txt`) instead of stdout. */
  readonly outputFile?: string | undefined;
  /** Reported as the job's `engine`; default the program's file name. */
  readonly name?: string | undefined;
  /** Reported as the job's `model`; default null. */
  readonly model?: string | null | undefined;
  /** Languages the program supports (primary subtags); default any. */
  readonly languages?: readonly string[] | undefined;
  /** Used for `{language}` when the job has none; default `en`. */
  readonly defaultLanguage?: string | undefined;
  /** Kill the program after this long; default 30 minutes. */
  readonly timeoutMs?: number | undefined;
  /** Expected seconds of processing per second of audio, for progress estimates; default 1. */
  readonly realtimeFactor?: number | undefined;
}

const MAX_TRANSCRIPT_BYTES = 16 * 1024 * 1024;

/**
 * An engine that runs a configured program, e.g. whisper.cpp's CLI, and takes its stdout (or an output file)
 * as the transcript.
 *
 * @example
 * const engine = createCommandEngine({
 *   command: ['whisper-cli', '-m', '/models/ggml-base.bin', '-l', '{language}', '-nt', '-f', '{wav}'],
 *   name: 'whisper.cpp', model: 'base',
 * });
 */
export function createCommandEngine(options: CommandEngineOptions): TranscriptionEngine {
  const program = options.command[0];
  if (program === undefined || program === '') throw new Error('The command engine needs a command to run');
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;

  async function probe(): Promise<EngineProbe> {
    if ((await findExecutable(program as string)) === null) {
      return {
        available: false,
        reason: `the configured transcription program ${program} is not installed or not executable`,
      };
    }
    return { available: true };
  }

  async function transcribe(wavPath: string, opts: TranscribeOptions): Promise<string> {
    const status = await probe();
    if (!status.available) throw engineUnavailable(status.reason);
    const values = {
      wav: wavPath,
      language: primaryLanguage(opts.language ?? options.defaultLanguage ?? 'en'),
      output: join(dirname(wavPath), 'transcript'),
    };
    const argv = fillTemplate(options.command, values);
    const outputFile = options.outputFile === undefined ? undefined : fillOne(options.outputFile, values);
    // A transcript left over from an earlier run must never be mistaken for this one's.
    if (outputFile !== undefined) await rm(outputFile, { force: true });
    const expectedMs = 1_000 + (opts.durationSec ?? 60) * 1000 * (options.realtimeFactor ?? 1);
    const stopProgress = startProgressTimer(opts.onProgress, expectedMs);
    try {
      const result = await runProcess(argv[0] as string, argv.slice(1), {
        signal: opts.signal,
        timeoutMs,
        maxStdoutBytes: MAX_TRANSCRIPT_BYTES,
      });
      const diagnostics = `${basename(program as string)} exited with ${result.exitCode ?? result.killSignal}: ${result.stderrTail}`;
      if (result.timedOut) {
        throw new JobFailure(
          'transcription_failed',
          `Transcription took longer than ${formatSeconds(timeoutMs)}; send a shorter recording.`,
        );
      }
      if (result.exitCode !== 0 || result.outputTooLarge) {
        throw new JobFailure(
          'transcription_failed',
          'The transcription engine failed on this audio; try again later, or send a clearer or shorter recording.',
          { cause: new Error(diagnostics) },
        );
      }
      if (outputFile === undefined) return result.stdout.trim();
      try {
        return (await readFile(outputFile, 'utf8')).trim();
      } catch (err) {
        throw new JobFailure(
          'transcription_failed',
          'The transcription engine finished without writing a transcript; try again later.',
          { cause: err },
        );
      }
    } catch (err) {
      if (err instanceof ProcessStartError)
        throw engineUnavailable(
          `the configured transcription program ${program} could not be started (${err.code})`,
          err,
        );
      throw err;
    } finally {
      stopProgress();
    }
  }

  return {
    name: options.name ?? basename(program),
    model: options.model ?? null,
    languages: options.languages,
    probe,
    transcribe,
  };
}
