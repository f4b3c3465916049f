import { JobFailure } from '../jobs/job-processor.js';
import { engineUnavailable } from '../engines/transcription-engine.js';
import { findExecutable } from '../process/find-executable.js';
import { formatDuration, formatSeconds } from '../process/format.js';
import { ProcessStartError, runProcess } from '../process/run-process.js';
import { readWavInfo } from './wav-info.js';

/** Options for {@link decodeAudio}. */
export interface DecodeAudioOptions {
  /** `ffmpeg` (searched on PATH) or an absolute path. */
  readonly ffmpegPath: string;
  /** Longer media fails with `media_too_large`. */
  readonly maxDurationSec: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Fraction of the input decoded so far, when ffmpeg knows the input's duration. */
  readonly onProgress?: ((fraction: number) => void) | undefined;
}

export interface DecodedAudio {
  /** 16 kHz, mono, 16-bit PCM WAV. */
  readonly wavPath: string;
  readonly durationSec: number;
}

/**
 * Checks ffmpeg is installed, so a job can fail before downloading anything when it is not.
 *
 * @example
 * await assertFfmpegAvailable('ffmpeg'); // throws JobFailure('transcription_engine_unavailable') if missing
 */
export async function assertFfmpegAvailable(ffmpegPath: string): Promise<void> {
  if ((await findExecutable(ffmpegPath)) === null) throw ffmpegMissing(ffmpegPath);
}

function ffmpegMissing(ffmpegPath: string, cause?: unknown): JobFailure {
  return engineUnavailable(
    `the audio decoder (${ffmpegPath}) is not installed (install the Debian package ffmpeg or set TTT_FFMPEG_PATH)`,
    cause,
  );
}

function parseClock(text: string): number {
  const [h = '0', m = '0', s = '0'] = text.split(':');
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

/**
 * Decodes any audio or video file ffmpeg can read into a 16 kHz mono 16-bit PCM WAV (the first audio track only).
 * Fails with `unsupported_media` if ffmpeg cannot read it or it has no audio, `media_too_large` if it is longer than
 * `maxDurationSec` (ffmpeg is stopped as soon as the header says so, and output is capped in any case), and
 * `transcription_engine_unavailable` if ffmpeg is missing. Aborting `signal` kills ffmpeg and rejects with its reason.
 *
 * @example
 * const { wavPath, durationSec } = await decodeAudio(inputPath, join(dir, 'audio.wav'), {
 *   ffmpegPath: 'ffmpeg', maxDurationSec: 1800, timeoutMs: 300_000, signal,
 * });
 */
export async function decodeAudio(
  inputPath: string,
  wavPath: string,
  options: DecodeAudioOptions,
): Promise<DecodedAudio> {
  const { maxDurationSec } = options;
  const tooLong = new JobFailure(
    'media_too_large',
    `The media is longer than the ${formatDuration(maxDurationSec)} limit; send a shorter clip.`,
  );
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  let inputDuration: number | null = null;
  let stderrHead = '';
  // protocol_whitelist: a downloaded playlist (HLS, concat...) must not make ffmpeg fetch URLs past the address guard.
  const args = [
    '-nostdin',
    '-hide_banner',
    '-nostats',
    '-progress',
    'pipe:1',
    '-protocol_whitelist',
    'file',
    '-i',
    inputPath,
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    '-t',
    String(maxDurationSec + 1),
    '-ac',
    '1',
    '-ar',
    '16000',
    '-c:a',
    'pcm_s16le',
    '-f',
    'wav',
    '-y',
    wavPath,
  ];
  let result;
  try {
    result = await runProcess(options.ffmpegPath, args, {
      signal,
      timeoutMs: options.timeoutMs,
      onStderr: (chunk) => {
        if (inputDuration !== null || stderrHead.length > 256 * 1024) return;
        stderrHead += chunk; // the Duration line may be split across chunks
        const match = /Duration: (\d+:\d+:[\d.]+)/.exec(stderrHead);
        if (match === null) return;
        inputDuration = parseClock(match[1] as string);
        if (inputDuration > maxDurationSec) stop.abort(tooLong);
      },
      onStdout: (chunk) => {
        const match = /out_time_us=(\d+)/.exec(chunk);
        if (match !== null && inputDuration) options.onProgress?.(Math.min(1, Number(match[1]) / 1e6 / inputDuration));
      },
    });
  } catch (err) {
    if (err instanceof ProcessStartError) throw ffmpegMissing(options.ffmpegPath, err);
    throw err;
  }
  const diagnostics = new Error(`ffmpeg exited with ${result.exitCode ?? result.killSignal}: ${result.stderrTail}`);
  if (result.timedOut) {
    throw new JobFailure(
      'unsupported_media',
      `Decoding the media took longer than ${formatSeconds(options.timeoutMs)}; send a shorter or simpler file.`,
      { cause: diagnostics },
    );
  }
  if (result.exitCode !== 0) {
    const noAudio = /matches no streams|does not contain any stream/.test(result.stderrTail);
    throw new JobFailure(
      'unsupported_media',
      noAudio
        ? 'The media has no audio track; send a file with speech in it.'
        : 'The file could not be read as audio or video; send a common format such as MP3, MP4, M4A, WAV, OGG or WebM.',
      { cause: diagnostics },
    );
  }
  const { durationSec } = await readWavInfo(wavPath);
  if (durationSec > maxDurationSec) throw tooLong;
  if (durationSec === 0)
    throw new JobFailure('unsupported_media', 'The media contains no audio samples; send a file with speech in it.');
  return { wavPath, durationSec };
}
