import type { components } from '../../generated/tttranscribe/schema.js';
import type { TranscriptionEngine } from './engines/transcription-engine.js';
import { findExecutable } from './process/find-executable.js';

/** The `transcriber` member of GET /health. */
export type TranscriberStatus = components['schemas']['TttHealth']['transcriber'];

/** Reports whether jobs can be transcribed right now; GET /health calls it. */
export type TranscriberProbe = () => Promise<TranscriberStatus>;

const CACHE_MS = 10_000;

/**
 * Probes the real pipeline for GET /health: the engine's own probe (binary and model present) and the audio
 * decoder the pipeline needs first. Results are cached for 10 s so a busy health check never spawns work per
 * request. Unavailable means jobs fail with `transcription_engine_unavailable`; no transcript is ever invented.
 *
 * @example
 * const probe = createTranscriberProbe({ engine, ffmpegPath: 'ffmpeg' });
 * await probe(); // { engine: 'pocketsphinx', model: 'en-us', available: true, reason: null }
 */
export function createTranscriberProbe(options: {
  engine: TranscriptionEngine;
  ffmpegPath?: string;
  now?: () => number;
}): TranscriberProbe {
  const { engine, ffmpegPath = 'ffmpeg', now = Date.now } = options;
  let cached: { at: number; status: Promise<TranscriberStatus> } | undefined;

  async function probe(): Promise<TranscriberStatus> {
    const base = { engine: engine.name, model: engine.model };
    try {
      const result = await engine.probe();
      if (!result.available) return { ...base, available: false, reason: result.reason };
      if ((await findExecutable(ffmpegPath)) === null) {
        return {
          ...base,
          available: false,
          reason: `the audio decoder (${ffmpegPath}) is not installed (Debian package ffmpeg, or set TTT_FFMPEG_PATH)`,
        };
      }
      return { ...base, available: true, reason: null };
    } catch (error) {
      return {
        ...base,
        available: false,
        reason: `the engine probe failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  return () => {
    const at = now();
    if (!cached || at - cached.at >= CACHE_MS) cached = { at, status: probe() };
    return cached.status;
  };
}
