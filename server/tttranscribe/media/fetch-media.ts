import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JobFailure } from '../jobs/job-processor.js';
import type { AddressGuard } from './address-guard.js';
import { guardedGet, type ResolveHost } from './guarded-request.js';
import { formatBytes, formatSeconds } from '../process/format.js';
import { isShareHost } from './share-link.js';

/** What {@link fetchMedia} needs: the relevant processor options plus the guard and resolver. */
export interface FetchMediaOptions {
  readonly maxBytes: number;
  readonly maxRedirects: number;
  readonly fetchTimeoutMs: number;
  readonly shareHosts: readonly string[];
  readonly userAgent: string;
  readonly guard: AddressGuard;
  readonly resolveHost: ResolveHost;
  readonly signal: AbortSignal;
  /** Bytes received so far and the expected total when the server sent Content-Length. */
  readonly onProgress?: ((received: number, total: number | null) => void) | undefined;
}

/** The media was saved to `path`, or the URL (possibly after redirects) is a share page for the resolver. */
export type FetchMediaResult =
  | { readonly kind: 'file'; readonly path: string; readonly bytes: number; readonly contentType: string | null }
  | { readonly kind: 'share-page'; readonly url: URL };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * True for Content-Types that are certainly not audio or video (web pages, text, JSON, images). Missing or generic
 * types such as `application/octet-stream` pass: ffmpeg decides those.
 *
 * @example
 * isClearlyNotMedia('text/html; charset=utf-8'); // true
 */
export function isClearlyNotMedia(contentType: string | null): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    /^(text|image|font|multipart)\//.test(type) ||
    /^application\/(json|xml|xhtml\+xml|javascript|ecmascript|pdf|x-www-form-urlencoded|([a-z.+-]*\+(json|xml)))$/.test(
      type,
    )
  );
}

/**
 * Downloads `url` to `destPath` over http(s), following up to `maxRedirects` redirects by hand and re-checking every
 * hop's resolved address with the guard. Limits: `maxBytes` (Content-Length up front, then counted while streaming)
 * → `media_too_large`; `fetchTimeoutMs` for everything → `media_fetch_failed`; non-2xx → `media_fetch_failed`;
 * a clearly non-media Content-Type → `unsupported_media`. Aborting `signal` rejects with its reason.
 *
 * @example
 * const r = await fetchMedia(new URL(job.url), join(dir, 'input'), { ...limits, guard, resolveHost, signal });
 * if (r.kind === 'share-page') await resolveShareLink(r.url, dir, resolverOptions);
 */
export async function fetchMedia(url: URL, destPath: string, options: FetchMediaOptions): Promise<FetchMediaResult> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error('fetch time limit')), options.fetchTimeoutMs);
  const signal = AbortSignal.any([options.signal, deadline.signal]);
  try {
    let current = url;
    for (let hop = 0; ; hop++) {
      if (current.protocol !== 'http:' && current.protocol !== 'https:') {
        throw new JobFailure(
          'media_fetch_failed',
          `Only http and https media URLs are supported (got ${current.protocol}); send an http(s) link.`,
        );
      }
      if (isShareHost(current, options.shareHosts)) return { kind: 'share-page', url: current };
      const headers = {
        'user-agent': options.userAgent,
        accept: 'audio/*, video/*, application/octet-stream;q=0.9, */*;q=0.1',
      };
      const res = await guardedGet(current, {
        guard: options.guard,
        resolveHost: options.resolveHost,
        signal,
        headers,
      });
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.destroy();
        const location = res.headers.location;
        if (location === undefined)
          throw new JobFailure(
            'media_fetch_failed',
            `The media server sent a redirect (HTTP ${status}) without a destination; check the URL.`,
          );
        if (hop >= options.maxRedirects)
          throw new JobFailure(
            'media_fetch_failed',
            `The media URL redirected more than ${options.maxRedirects} times; send the final media URL.`,
          );
        current = new URL(location, current);
        continue;
      }
      return await saveBody(res, destPath, options, signal);
    }
  } catch (err) {
    if (options.signal.aborted) throw options.signal.reason;
    if (deadline.signal.aborted) {
      throw new JobFailure(
        'media_fetch_failed',
        `The media server did not deliver the file within ${formatSeconds(options.fetchTimeoutMs)}; try again later or send a smaller file.`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function saveBody(
  res: IncomingMessage,
  destPath: string,
  options: FetchMediaOptions,
  signal: AbortSignal,
): Promise<FetchMediaResult> {
  const status = res.statusCode ?? 0;
  const tooLarge = (): JobFailure =>
    new JobFailure(
      'media_too_large',
      `The media is larger than the ${formatBytes(options.maxBytes)} limit; send a shorter or smaller clip.`,
    );
  try {
    if (status < 200 || status > 299) {
      throw new JobFailure(
        'media_fetch_failed',
        `The media server answered HTTP ${status}; check that the URL is correct and publicly accessible.`,
      );
    }
    const contentType = res.headers['content-type'] ?? null;
    if (isClearlyNotMedia(contentType)) {
      throw new JobFailure(
        'unsupported_media',
        `The URL returned ${contentType?.split(';')[0]}, not an audio or video file; send a direct link to the media file.`,
      );
    }
    const lengthHeader = res.headers['content-length'];
    const total = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    if (total !== null && total > options.maxBytes) throw tooLarge();
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > options.maxBytes) {
          callback(tooLarge());
          return;
        }
        options.onProgress?.(received, total);
        callback(null, chunk);
      },
    });
    await pipeline(res, counter, createWriteStream(destPath), { signal });
    return { kind: 'file', path: destPath, bytes: received, contentType };
  } finally {
    res.destroy();
  }
}
