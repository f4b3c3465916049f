import { JobFailure } from '../jobs/job-processor.js';

/** What {@link TranscriptionEngine.probe} reports: whether the engine can run here, and if not, why. */
export type EngineProbe =
  { readonly available: true; readonly version?: string } | { readonly available: false; readonly reason: string };

/** Per-call options for {@link TranscriptionEngine.transcribe}. */
export interface TranscribeOptions {
  /** The job's requested language (BCP 47, e.g. `en`), or undefined for the engine's default. */
  readonly language: string | undefined;
  /** Aborting kills the engine's process; the call then rejects with `signal.reason`. */
  readonly signal: AbortSignal;
  /** Progress of this transcription in [0, 1] (an estimate for engines that do not report it). */
  readonly onProgress: (fraction: number) => void;
  /** Length of the audio, when known, for progress estimates. */
  readonly durationSec?: number | undefined;
}

/**
 * A speech-to-text engine working on a 16 kHz mono 16-bit PCM WAV file.
 *
 * `transcribe` throws `JobFailure('transcription_engine_unavailable', …)` when the engine is not installed or
 * configured (the operator must act) and `JobFailure('transcription_failed', …)` when it ran but failed. It never
 * returns a made-up transcript.
 *
 * @example
 * const engine = createEngine({ kind: 'pocketsphinx' });
 * const probe = await engine.probe();
 * if (probe.available) {
 *   const text = await engine.transcribe('/tmp/job/audio.wav', { language: 'en', signal, onProgress: () => {} });
 * }
 */
export interface TranscriptionEngine {
  /** Reported as the job result's `engine`, e.g. `pocketsphinx`. */
  readonly name: string;
  /** Reported as the job result's `model`, e.g. `en-us`, or null when unknown. */
  readonly model: string | null;
  /**
   * Languages (lower-case primary subtags such as `en`) the engine can transcribe, or undefined for "any /
   * let the engine decide". Checked before the media is fetched.
   */
  readonly languages?: readonly string[] | undefined;
  /** Checks the engine can run (binary and model present) without transcribing anything. */
  probe(): Promise<EngineProbe>;
  /** Transcribes a WAV file and returns the text (possibly empty when there is no recognisable speech). */
  transcribe(wavPath: string, options: TranscribeOptions): Promise<string>;
}

/**
 * The primary language subtag of a BCP 47 tag, lower-cased: `en-US` → `en`.
 *
 * @example
 * primaryLanguage('en-US'); // 'en'
 */
export function primaryLanguage(tag: string): string {
  return (tag.split(/[-_]/)[0] ?? '').toLowerCase();
}

/**
 * Estimates progress for engines that report none: elapsed time against an expected run time, approaching but
 * never reaching 1 (the real end is signalled by the engine finishing).
 *
 * @example
 * estimateProgress(5_000, 10_000); // 0.5
 */
export function estimateProgress(elapsedMs: number, expectedMs: number): number {
  if (expectedMs <= 0) return 0;
  return Math.min(0.95, elapsedMs / expectedMs);
}

/**
 * Calls `onProgress` every `intervalMs` with an estimate until the returned stop function is called.
 *
 * @example
 * const stop = startProgressTimer(opts.onProgress, 10_000);
 * try { await runEngine(); } finally { stop(); }
 */
export function startProgressTimer(
  onProgress: (fraction: number) => void,
  expectedMs: number,
  intervalMs = 500,
): () => void {
  const started = Date.now();
  const timer = setInterval(() => onProgress(estimateProgress(Date.now() - started, expectedMs)), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The failure for "this server cannot transcribe at all": the operator must install or configure an engine.
 *
 * @example
 * throw engineUnavailable('pocketsphinx_continuous is not installed');
 */
export function engineUnavailable(reason: string, cause?: unknown): JobFailure {
  return new JobFailure(
    'transcription_engine_unavailable',
    `Transcription is not available on this server right now: ${reason}. Please try again later; the operator has to fix this.`,
    { cause },
  );
}
