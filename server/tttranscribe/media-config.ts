import type { Logger } from 'pino';
import { z } from 'zod';
import { engineConfigSchema, type EngineConfig } from './engines/create-engine.js';
import { resolveMediaOptions, type MediaProcessorOptionsInput } from './media/media-options.js';
import { list } from '../shared/config/env.js';

type Env = Readonly<Record<string, string | undefined>>;
type Problem = { variable: string; message: string };

const whole = (min: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .optional();
const text = () => z.string().trim().min(1).optional();

/** The media pipeline's variables (names suggested by server/tttranscribe/media/media-options.ts). */
export const mediaEnvSchema = z.object({
  TTT_MEDIA_MAX_BYTES: whole(1),
  TTT_MEDIA_MAX_REDIRECTS: whole(0),
  TTT_MEDIA_FETCH_TIMEOUT_MS: whole(1),
  TTT_MEDIA_MAX_DURATION_SEC: whole(1),
  TTT_ALLOW_PRIVATE_CIDRS: list(),
  TTT_MEDIA_SHARE_HOSTS: list(),
  TTT_MEDIA_RESOLVER: text(),
  TTT_MEDIA_RESOLVER_TIMEOUT_MS: whole(1),
  TTT_FFMPEG_PATH: text(),
  TTT_MEDIA_DECODE_TIMEOUT_MS: whole(1),
  TTT_TMP_DIR: text(),
  TTT_TRANSCRIBER: z
    .enum(['pocketsphinx', 'command', 'none'], { error: 'must be pocketsphinx, command or none' })
    .default('pocketsphinx'),
  TTT_TRANSCRIBER_COMMAND: text(),
  TTT_TRANSCRIBER_OUTPUT_FILE: text(),
  TTT_TRANSCRIBER_MODEL: text(),
  TTT_TRANSCRIBER_LANGUAGES: list(),
  TTT_POCKETSPHINX_MODEL_DIR: text(),
});

/** Which variable feeds each media option, to name it in configuration errors. */
const VARIABLE_OF: Record<string, string> = {
  maxBytes: 'TTT_MEDIA_MAX_BYTES',
  maxRedirects: 'TTT_MEDIA_MAX_REDIRECTS',
  fetchTimeoutMs: 'TTT_MEDIA_FETCH_TIMEOUT_MS',
  maxDurationSec: 'TTT_MEDIA_MAX_DURATION_SEC',
  allowPrivateCidrs: 'TTT_ALLOW_PRIVATE_CIDRS',
  shareHosts: 'TTT_MEDIA_SHARE_HOSTS',
  resolverCommand: 'TTT_MEDIA_RESOLVER',
  resolverTimeoutMs: 'TTT_MEDIA_RESOLVER_TIMEOUT_MS',
  ffmpegPath: 'TTT_FFMPEG_PATH',
  decodeTimeoutMs: 'TTT_MEDIA_DECODE_TIMEOUT_MS',
  tmpDir: 'TTT_TMP_DIR',
  command: 'TTT_TRANSCRIBER_COMMAND',
  outputFile: 'TTT_TRANSCRIBER_OUTPUT_FILE',
  model: 'TTT_TRANSCRIBER_MODEL',
  languages: 'TTT_TRANSCRIBER_LANGUAGES',
  modelDir: 'TTT_POCKETSPHINX_MODEL_DIR',
};

function engineFromEnv(e: z.infer<typeof mediaEnvSchema>): EngineConfig {
  switch (e.TTT_TRANSCRIBER) {
    case 'none':
      return { kind: 'none' };
    case 'command':
      return {
        kind: 'command',
        command: e.TTT_TRANSCRIBER_COMMAND ?? '',
        ...(e.TTT_TRANSCRIBER_OUTPUT_FILE ? { outputFile: e.TTT_TRANSCRIBER_OUTPUT_FILE } : {}),
        ...(e.TTT_TRANSCRIBER_MODEL ? { model: e.TTT_TRANSCRIBER_MODEL } : {}),
        ...(e.TTT_TRANSCRIBER_LANGUAGES.length > 0 ? { languages: e.TTT_TRANSCRIBER_LANGUAGES } : {}),
      };
    case 'pocketsphinx':
      return {
        kind: 'pocketsphinx',
        ...(e.TTT_POCKETSPHINX_MODEL_DIR ? { modelDir: e.TTT_POCKETSPHINX_MODEL_DIR } : {}),
      };
  }
}

/**
 * Reads the media pipeline's options from the environment and validates them with the pipeline's own rules, so
 * a bad CIDR, a resolver without `{url}` or `TTT_TRANSCRIBER=command` without a command stops start-up. Returns
 * the options, or the problems (each naming its variable) for config.ts to report with the others.
 *
 * @example
 * const r = mediaOptionsFromEnv({ TTT_TRANSCRIBER: 'none' }); // { ok: true, options: { engine: { kind: 'none' } } }
 */
export function mediaOptionsFromEnv(
  env: Env,
): { ok: true; options: MediaProcessorOptionsInput } | { ok: false; problems: Problem[] } {
  const parsed = mediaEnvSchema.safeParse(env);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => ({ variable: String(i.path[0]), message: i.message })),
    };
  }
  const e = parsed.data;
  const engine = engineFromEnv(e);
  const problems: Problem[] = [];
  const engineCheck = engineConfigSchema.safeParse(engine);
  if (!engineCheck.success) {
    for (const issue of engineCheck.error.issues) {
      const missingCommand =
        e.TTT_TRANSCRIBER === 'command' && issue.path[0] === 'command' && !e.TTT_TRANSCRIBER_COMMAND;
      problems.push({
        variable: VARIABLE_OF[String(issue.path[0])] ?? 'TTT_TRANSCRIBER',
        message: missingCommand
          ? 'is required when TTT_TRANSCRIBER=command (e.g. "whisper-cli -m /models/base.bin -nt -f {wav}")'
          : issue.message,
      });
    }
  }
  const options: MediaProcessorOptionsInput = {
    ...(e.TTT_MEDIA_MAX_BYTES !== undefined ? { maxBytes: e.TTT_MEDIA_MAX_BYTES } : {}),
    ...(e.TTT_MEDIA_MAX_REDIRECTS !== undefined ? { maxRedirects: e.TTT_MEDIA_MAX_REDIRECTS } : {}),
    ...(e.TTT_MEDIA_FETCH_TIMEOUT_MS !== undefined ? { fetchTimeoutMs: e.TTT_MEDIA_FETCH_TIMEOUT_MS } : {}),
    ...(e.TTT_MEDIA_MAX_DURATION_SEC !== undefined ? { maxDurationSec: e.TTT_MEDIA_MAX_DURATION_SEC } : {}),
    ...(e.TTT_ALLOW_PRIVATE_CIDRS.length > 0 ? { allowPrivateCidrs: e.TTT_ALLOW_PRIVATE_CIDRS } : {}),
    ...(e.TTT_MEDIA_SHARE_HOSTS.length > 0 ? { shareHosts: e.TTT_MEDIA_SHARE_HOSTS } : {}),
    ...(e.TTT_MEDIA_RESOLVER !== undefined ? { resolverCommand: e.TTT_MEDIA_RESOLVER } : {}),
    ...(e.TTT_MEDIA_RESOLVER_TIMEOUT_MS !== undefined ? { resolverTimeoutMs: e.TTT_MEDIA_RESOLVER_TIMEOUT_MS } : {}),
    ...(e.TTT_FFMPEG_PATH !== undefined ? { ffmpegPath: e.TTT_FFMPEG_PATH } : {}),
    ...(e.TTT_MEDIA_DECODE_TIMEOUT_MS !== undefined ? { decodeTimeoutMs: e.TTT_MEDIA_DECODE_TIMEOUT_MS } : {}),
    ...(e.TTT_TMP_DIR !== undefined ? { tmpDir: e.TTT_TMP_DIR } : {}),
    engine,
  };
  try {
    // With a bad engine, still check the other options so every problem is reported at once.
    resolveMediaOptions(engineCheck.success ? options : { ...options, engine: { kind: 'none' } });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const named = Object.entries(VARIABLE_OF)
      .filter(([field]) => new RegExp(`\\b${field}\\b`).test(message))
      .map(([, variable]) => variable);
    const detail = message
      .replace(/^Invalid media processor options:\s*/, '')
      .replace(/\s+/g, ' ')
      .trim();
    problems.push(...(named.length > 0 ? named : ['TTT_MEDIA_*']).map((variable) => ({ variable, message: detail })));
  }
  if (problems.length > 0) {
    const unique = new Map(problems.map((p) => [`${p.variable}\n${p.message}`, p]));
    return { ok: false, problems: [...unique.values()] };
  }
  return { ok: true, options };
}

/**
 * Logs, at warn level, the non-public address ranges TTT_ALLOW_PRIVATE_CIDRS opens to media fetches (a line
 * meant for local development stacks that must not go unnoticed in production); nothing when it is unset.
 *
 * @example
 * warnAboutPrivateCidrs(logger, config.media);
 */
export function warnAboutPrivateCidrs(logger: Logger, media: MediaProcessorOptionsInput): void {
  const allowPrivateCidrs = media.allowPrivateCidrs ?? [];
  if (allowPrivateCidrs.length === 0) return;
  logger.warn(
    { allowPrivateCidrs },
    'TTT_ALLOW_PRIVATE_CIDRS: media may be fetched from these non-public address ranges (meant for local ' +
      'development stacks only; unset it in production)',
  );
}
