import { tmpdir } from 'node:os';
import { z } from 'zod';
import { engineConfigSchema, type EngineConfig } from '../engines/create-engine.js';
import { parseCidr } from './address-guard.js';
import { placeholdersOf, splitCommandLine } from '../process/command-line.js';

/** Share-page hosts whose URLs are web pages, not media files; they go through the resolver command. */
export const DEFAULT_SHARE_HOSTS: readonly string[] = [
  'tiktok.com',
  'www.tiktok.com',
  'm.tiktok.com',
  'vm.tiktok.com',
  'vt.tiktok.com',
  'youtube.com',
  'www.youtube.com',
  'm.youtube.com',
  'music.youtube.com',
  'youtu.be',
  'instagram.com',
  'www.instagram.com',
  'x.com',
  'twitter.com',
  'www.facebook.com',
  'fb.watch',
  'vimeo.com',
];

const positiveInt = z.number().int().positive();
const command = z.union([z.string().transform((s) => splitCommandLine(s)), z.array(z.string()).readonly()]).pipe(
  z
    .array(z.string())
    .readonly()
    .refine((a) => a.length > 0 && a[0] !== '', 'must name a program'),
);

const schema = z.strictObject({
  maxBytes: positiveInt.default(50 * 1024 * 1024),
  maxRedirects: z.number().int().min(0).max(20).default(5),
  fetchTimeoutMs: positiveInt.default(60_000),
  maxDurationSec: z
    .number()
    .positive()
    .default(30 * 60),
  allowPrivateCidrs: z
    .array(
      z.string().refine((c) => {
        try {
          parseCidr(c);
          return true;
        } catch {
          return false;
        }
      }, 'must be a CIDR range such as 127.0.0.1/32'),
    )
    .readonly()
    .default([]),
  shareHosts: z
    .array(
      z
        .string()
        .min(1)
        .transform((h) => h.toLowerCase()),
    )
    .readonly()
    .default(DEFAULT_SHARE_HOSTS),
  resolverCommand: command
    .refine((argv) => {
      const used = placeholdersOf(argv);
      return used.has('url') && used.has('output') && [...used].every((p) => p === 'url' || p === 'output');
    }, 'must use the {url} and {output} placeholders and no others')
    .nullable()
    .default(null),
  resolverTimeoutMs: positiveInt.default(120_000),
  ffmpegPath: z.string().min(1).default('ffmpeg'),
  decodeTimeoutMs: positiveInt.default(300_000),
  engine: engineConfigSchema.default({ kind: 'pocketsphinx' }),
  tmpDir: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .transform((d) => d ?? tmpdir()),
  userAgent: z.string().min(1).default('TTTranscribe-media-fetcher/1'),
});

/**
 * What {@link resolveMediaOptions} accepts: every field is optional and has a default. The service's `config.ts`
 * builds this from environment variables (see the suggested `TTT_*` names on each field).
 */
export interface MediaProcessorOptionsInput {
  /** `TTT_MEDIA_MAX_BYTES`; default 50 MiB. Checked against Content-Length and while streaming. */
  readonly maxBytes?: number;
  /** `TTT_MEDIA_MAX_REDIRECTS`; default 5. Each hop is re-checked against the address guard. */
  readonly maxRedirects?: number;
  /** `TTT_MEDIA_FETCH_TIMEOUT_MS`; default 60 s for the whole download, all redirects included. */
  readonly fetchTimeoutMs?: number;
  /** `TTT_MEDIA_MAX_DURATION_SEC`; default 30 minutes of audio. */
  readonly maxDurationSec?: number;
  /** `TTT_ALLOW_PRIVATE_CIDRS` (comma-separated); default none. E.g. `['127.0.0.1/32']` for tests. */
  readonly allowPrivateCidrs?: readonly string[];
  /** `TTT_MEDIA_SHARE_HOSTS` (comma-separated); default {@link DEFAULT_SHARE_HOSTS}. `*.example.com` matches subdomains. */
  readonly shareHosts?: readonly string[];
  /** `TTT_MEDIA_RESOLVER`, e.g. `yt-dlp --no-playlist -o {output} {url}`; default none. */
  readonly resolverCommand?: string | readonly string[] | null;
  /** `TTT_MEDIA_RESOLVER_TIMEOUT_MS`; default 120 s. */
  readonly resolverTimeoutMs?: number;
  /** `TTT_FFMPEG_PATH`; default `ffmpeg` from PATH. */
  readonly ffmpegPath?: string;
  /** `TTT_MEDIA_DECODE_TIMEOUT_MS`; default 300 s. */
  readonly decodeTimeoutMs?: number;
  /** `TTT_TRANSCRIBER` and friends; default `{ kind: 'pocketsphinx' }`. */
  readonly engine?: EngineConfig;
  /** `TTT_TMP_DIR`; default `os.tmpdir()`. Each job gets its own directory under it, removed when the job ends. */
  readonly tmpDir?: string | null;
  readonly userAgent?: string;
}

/** Fully resolved, validated options. */
export type MediaProcessorOptions = z.output<typeof schema>;

/**
 * Applies defaults and validates; throws an `Error` naming every bad field (e.g. `maxBytes <= 0`, a bad CIDR,
 * a resolver command without `{url}`), so a misconfigured service fails at start-up rather than per job.
 *
 * @example
 * const options = resolveMediaOptions({ maxBytes: 10_000_000, allowPrivateCidrs: ['127.0.0.1/32'] });
 */
export function resolveMediaOptions(input: MediaProcessorOptionsInput = {}): MediaProcessorOptions {
  const result = schema.safeParse(input);
  if (!result.success) throw new Error(`Invalid media processor options:\n${z.prettifyError(result.error)}`);
  return result.data;
}
