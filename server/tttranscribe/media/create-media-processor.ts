import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine } from '../engines/create-engine.js';
import { engineUnavailable, primaryLanguage, type TranscriptionEngine } from '../engines/transcription-engine.js';
import { JobFailure, type JobContext, type JobProcessor, type JobStage } from '../jobs/job-processor.js';
import { createAddressGuard } from './address-guard.js';
import { assertFfmpegAvailable, decodeAudio } from './decode-audio.js';
import { fetchMedia } from './fetch-media.js';
import { systemResolveHost, type ResolveHost } from './guarded-request.js';
import { resolveMediaOptions, type MediaProcessorOptionsInput } from './media-options.js';
import { resolveShareLink } from './share-link.js';

/** Replaceable collaborators, for tests and for services that build the engine themselves. */
export interface MediaProcessorDeps {
  /** Used instead of building one from `options.engine`. */
  readonly engine?: TranscriptionEngine;
  /** DNS resolution (default `dns.lookup`); every resolved address still goes through the address guard. */
  readonly resolveHost?: ResolveHost;
}

/** Overall progress ranges of each stage. */
const STAGES = { fetching: [0, 0.3], decoding: [0.3, 0.4], transcribing: [0.4, 1] } as const;

/** Maps a stage-local fraction into overall progress, never going backwards and skipping changes under 1%. */
function progressReporter(ctx: JobContext): (stage: JobStage, fraction: number) => void {
  let last = -1;
  let lastStage: JobStage | null = null;
  return (stage, fraction) => {
    const [from, to] = STAGES[stage];
    const overall = Math.max(last, from + (to - from) * Math.min(1, Math.max(0, fraction)));
    if (stage === lastStage && overall - last < 0.01 && overall < 1) return;
    last = overall;
    lastStage = stage;
    ctx.onProgress(stage, Math.round(overall * 1000) / 1000);
  };
}

/** Turns an error raised while the job's signal was aborted into what the worker expects. */
function abortOutcome(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof JobFailure) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new JobFailure(
      'job_timed_out',
      'The job took longer than the time limit; send a shorter clip or try again later.',
      { cause: reason },
    );
  }
  return reason;
}

/**
 * Builds the real media pipeline behind the worker's {@link JobProcessor}: fetch (guarded http(s) download or a
 * share-link resolver) → decode (ffmpeg to 16 kHz mono WAV) → transcribe (the configured engine), reporting progress
 * as fetching 0–0.3, decoding 0.3–0.4, transcribing 0.4–1. Each job works in its own temp directory, removed in all
 * cases. Options are validated here; bad ones throw at start-up.
 *
 * Aborting: the worker aborts `ctx.signal`. A reason named `TimeoutError` (what `AbortSignal.timeout(ms)` gives, or
 * `controller.abort(new DOMException('...', 'TimeoutError'))`) becomes `JobFailure('job_timed_out')`; a `JobFailure`
 * reason is thrown as is; any other reason (e.g. shutdown) is rethrown unchanged so the worker can requeue the job.
 * Child processes are killed and the temp directory removed before the promise settles.
 *
 * @example
 * const processor = createMediaProcessor({ maxBytes: 50 * 1024 * 1024, engine: { kind: 'pocketsphinx' } });
 * const result = await processor(
 *   { jobId: 'j1', url: 'https://cdn.example.com/clip.mp3', language: 'en' },
 *   { signal: AbortSignal.timeout(10 * 60_000), onProgress: (stage, p) => console.log(stage, p) },
 * );
 */
export function createMediaProcessor(
  input: MediaProcessorOptionsInput = {},
  deps: MediaProcessorDeps = {},
): JobProcessor {
  const options = resolveMediaOptions(input);
  const engine = deps.engine ?? createEngine(options.engine);
  const guard = createAddressGuard(options.allowPrivateCidrs);
  const resolveHost = deps.resolveHost ?? systemResolveHost;

  return async (job, ctx) => {
    const { signal } = ctx;
    const report = progressReporter(ctx);
    let dir: string | undefined;
    try {
      signal.throwIfAborted();
      let url: URL;
      try {
        url = new URL(job.url);
      } catch (err) {
        throw new JobFailure('media_fetch_failed', 'The media URL is not a valid URL; send a full http(s) link.', {
          cause: err,
        });
      }
      if (
        job.language !== undefined &&
        engine.languages !== undefined &&
        !engine.languages.includes(primaryLanguage(job.language))
      ) {
        // The catalog has no language code; unsupported_media is caller-actionable and not retryable, as this is.
        throw new JobFailure(
          'unsupported_media',
          `This server's transcription engine (${engine.name}) only transcribes ${engine.languages.join(', ')}, not ${job.language}; send speech in a supported language, or omit the language.`,
        );
      }
      const probe = await engine.probe();
      if (!probe.available) throw engineUnavailable(probe.reason);
      await assertFfmpegAvailable(options.ffmpegPath);

      dir = await mkdtemp(join(options.tmpDir, 'ttt-job-'));
      report('fetching', 0);
      const fetched = await fetchMedia(url, join(dir, 'input'), {
        ...options,
        guard,
        resolveHost,
        signal,
        onProgress: (received, total) => {
          if (total) report('fetching', received / total);
        },
      });
      const inputPath =
        fetched.kind === 'file' ? fetched.path : await resolveShareLink(fetched.url, dir, { ...options, signal });

      report('decoding', 0);
      const audio = await decodeAudio(inputPath, join(dir, 'audio.wav'), {
        ffmpegPath: options.ffmpegPath,
        maxDurationSec: options.maxDurationSec,
        timeoutMs: options.decodeTimeoutMs,
        signal,
        onProgress: (f) => report('decoding', f),
      });

      report('transcribing', 0);
      const transcript = await engine.transcribe(audio.wavPath, {
        language: job.language,
        signal,
        durationSec: audio.durationSec,
        onProgress: (f) => report('transcribing', f),
      });
      report('transcribing', 1);
      return { transcript, engine: engine.name, model: engine.model };
    } catch (err) {
      if (signal.aborted) throw abortOutcome(signal);
      throw err;
    } finally {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
    }
  };
}
