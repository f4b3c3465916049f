import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JobFailure } from '../jobs/job-processor.js';
import { fillTemplate } from '../process/command-line.js';
import { formatBytes, formatSeconds } from '../process/format.js';
import { ProcessStartError, runProcess } from '../process/run-process.js';

/**
 * Whether a URL's host is a share-page host (a web page around the media, e.g. `vm.tiktok.com`): an exact,
 * case-insensitive match, or `*.example.com` matching any subdomain of example.com.
 *
 * @example
 * isShareHost(new URL('https://vm.tiktok.com/ZM123/'), ['vm.tiktok.com']); // true
 */
export function isShareHost(url: URL, shareHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  return shareHosts.some((entry) => {
    const pattern = entry.toLowerCase();
    return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;
  });
}

/** What {@link resolveShareLink} needs from the processor's options. */
export interface ResolveShareLinkOptions {
  /** argv template with `{url}` and `{output}`, e.g. `['yt-dlp', '--no-playlist', '-o', '{output}', '{url}']`; null if none. */
  readonly resolverCommand: readonly string[] | null;
  readonly resolverTimeoutMs: number;
  readonly maxBytes: number;
  readonly signal: AbortSignal;
}

/**
 * Downloads the media behind a share page by running the configured resolver (e.g. yt-dlp) without a shell and
 * with a time limit. The resolver writes into a fresh directory under `dir`; the file it wrote (the `{output}` path
 * or, if the tool added an extension, the file whose name starts with it) is returned. The resolver does its own
 * networking: it is operator-configured and trusted, and the address guard does not apply to it.
 *
 * @example
 * const file = await resolveShareLink(new URL('https://vm.tiktok.com/ZM123/'), jobDir, {
 *   resolverCommand: ['yt-dlp', '-o', '{output}', '{url}'], resolverTimeoutMs: 120_000, maxBytes: 50e6, signal,
 * });
 */
export async function resolveShareLink(url: URL, dir: string, options: ResolveShareLinkOptions): Promise<string> {
  if (options.resolverCommand === null) {
    throw new JobFailure(
      'media_fetch_failed',
      `${url.hostname} links are share pages, not media files, and this server has no resolver for them: ` +
        'send a direct link to the audio or video file, or ask the operator to configure TTT_MEDIA_RESOLVER (e.g. yt-dlp).',
    );
  }
  const outDir = join(dir, 'resolved');
  await mkdir(outDir);
  const output = join(outDir, 'media');
  const [program, ...args] = fillTemplate(options.resolverCommand, { url: url.href, output });
  let result;
  try {
    result = await runProcess(program as string, args, {
      signal: options.signal,
      timeoutMs: options.resolverTimeoutMs,
      maxStdoutBytes: 1024 * 1024,
    });
  } catch (err) {
    if (err instanceof ProcessStartError) {
      throw new JobFailure(
        'media_fetch_failed',
        `The share-link resolver could not be started (${err.code}); send a direct media URL, or ask the operator to install it.`,
        { cause: err },
      );
    }
    throw err;
  }
  if (result.timedOut) {
    throw new JobFailure(
      'media_fetch_failed',
      `Resolving the ${url.hostname} share link took longer than ${formatSeconds(options.resolverTimeoutMs)}; try again later or send a direct media URL.`,
    );
  }
  if (result.exitCode !== 0) {
    throw new JobFailure(
      'media_fetch_failed',
      `Could not get the media behind this ${url.hostname} link; check that it is public and still exists, or send a direct media URL.`,
      { cause: new Error(`resolver exited with ${result.exitCode ?? result.killSignal}: ${result.stderrTail}`) },
    );
  }
  const written = (await readdir(outDir)).filter((name) => name.startsWith('media')).sort();
  const file = written.includes('media') ? 'media' : written.find((name) => !/\.(part|ytdl|temp)$/.test(name));
  if (file === undefined) {
    throw new JobFailure(
      'media_fetch_failed',
      `The ${url.hostname} link did not lead to any downloadable media; send a direct media URL.`,
    );
  }
  const path = join(outDir, file);
  if ((await stat(path)).size > options.maxBytes) {
    throw new JobFailure(
      'media_too_large',
      `The media is larger than ${formatBytes(options.maxBytes)}; send a shorter or smaller clip.`,
    );
  }
  return path;
}
