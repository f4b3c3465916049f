import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAddressGuard } from '../../../../server/tttranscribe/media/address-guard.js';
import {
  fetchMedia,
  isClearlyNotMedia,
  type FetchMediaOptions,
} from '../../../../server/tttranscribe/media/fetch-media.js';
import type { ResolveHost } from '../../../../server/tttranscribe/media/guarded-request.js';
import { routes, startMediaServer, type MediaServer } from '../../../fixtures/media-server.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';

const BODY = Buffer.from('ID3 pretend mp3 bytes '.repeat(100));
let server: MediaServer;
let dir: string;
let n = 0;
const cleanup = createCleanupStack();

/** Fake DNS: only names in the table resolve, so nothing here can reach a real resolver or host. */
const fakeDns =
  (table: Record<string, string[]>): ResolveHost =>
  async (hostname) => {
    const addresses = table[hostname];
    if (addresses === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

function options(overrides: Partial<FetchMediaOptions> = {}): FetchMediaOptions {
  return {
    maxBytes: 10_000,
    maxRedirects: 3,
    fetchTimeoutMs: 60_000,
    shareHosts: ['vm.tiktok.com', 'www.tiktok.com'],
    userAgent: 'test',
    guard: createAddressGuard(['127.0.0.1/32']),
    resolveHost: fakeDns({}),
    signal: new AbortController().signal,
    ...overrides,
  };
}

const dest = (): string => join(dir, `out-${n++}`);
const failure = (code: string, message?: RegExp): unknown =>
  expect.objectContaining({
    name: 'JobFailure',
    code,
    ...(message ? { message: expect.stringMatching(message) } : {}),
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ttt-fetch-test-'));
  cleanup.defer(() => rm(dir, { recursive: true, force: true }));
  server = await startMediaServer({
    '/clip.mp3': (_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/mpeg' }).end(BODY);
    },
    '/page': routes.html(),
    '/json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    },
    '/missing': routes.status(404),
    '/big-announced': routes.bytes(20_000, { withLength: true }),
    '/big-streamed': routes.bytes(200_000, { withLength: false }),
    '/slow': routes.slow({ intervalMs: 50 }),
    '/to-clip': routes.redirect('/clip.mp3', 301),
    '/to-metadata': routes.redirect('http://169.254.169.254/latest/meta-data/'),
    '/to-private': routes.redirect('http://10.0.0.1/clip.mp3', 307),
    '/to-ftp': routes.redirect('ftp://example.com/clip.mp3'),
    '/to-share': routes.redirect('https://www.tiktok.com/@user/video/1'),
    '/loop': routes.redirect('/loop'),
  });
  cleanup.defer(() => server.close());
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

afterAll(() => cleanup.run());

describe('fetchMedia', () => {
  it('downloads a file, following a redirect', async () => {
    const path = dest();
    const progress: number[] = [];
    const result = await fetchMedia(
      new URL(server.url('/to-clip')),
      path,
      options({ onProgress: (r) => progress.push(r) }),
    );
    expect(result).toEqual({ kind: 'file', path, bytes: BODY.length, contentType: 'audio/mpeg' });
    expect(await readFile(path)).toEqual(BODY);
    expect(progress.at(-1)).toBe(BODY.length);
  });

  it('connects to the address it checked, whatever the host name (DNS pinning)', async () => {
    const url = new URL(server.url('/clip.mp3').replace('127.0.0.1', 'media.test'));
    const result = await fetchMedia(url, dest(), options({ resolveHost: fakeDns({ 'media.test': ['127.0.0.1'] }) }));
    expect(result).toMatchObject({ kind: 'file', bytes: BODY.length });
  });

  it('refuses loopback when it is not allowed, without connecting', async () => {
    const before = server.hits.length;
    await expect(
      fetchMedia(new URL(server.url('/clip.mp3')), dest(), options({ guard: createAddressGuard() })),
    ).rejects.toEqual(failure('media_fetch_failed', /loopback address .*TTT_ALLOW_PRIVATE_CIDRS.*never in production/));
    expect(server.hits.length).toBe(before);
  });

  it.each([
    ['/to-metadata', /link-local address \(169\.254\.169\.254\)/],
    ['/to-private', /private network address \(10\.0\.0\.1\)/],
  ])('refuses a redirect (%s) to an internal address before connecting to it', async (path, message) => {
    const request = vi.spyOn(http, 'request');
    await expect(fetchMedia(new URL(server.url(path)), dest(), options())).rejects.toEqual(
      failure('media_fetch_failed', message),
    );
    expect(request).toHaveBeenCalledTimes(1);
    expect(String(request.mock.calls[0]?.[0])).toBe(server.url(path));
  });

  it('refuses a host name that resolves to an internal address, even alongside a public one', async () => {
    const resolveHost = fakeDns({ 'internal.test': ['10.1.2.3'], 'mixed.test': ['93.184.216.34', 'fd00::1'] });
    const request = vi.spyOn(http, 'request');
    await expect(fetchMedia(new URL('http://internal.test/a.mp3'), dest(), options({ resolveHost }))).rejects.toEqual(
      failure('media_fetch_failed', /private network address \(internal\.test\)/),
    );
    await expect(fetchMedia(new URL('http://mixed.test/a.mp3'), dest(), options({ resolveHost }))).rejects.toEqual(
      failure('media_fetch_failed', /private network address \(mixed\.test\)/),
    );
    await expect(fetchMedia(new URL('http://nowhere.test/a.mp3'), dest(), options({ resolveHost }))).rejects.toEqual(
      failure('media_fetch_failed', /could not be found/),
    );
    expect(request).not.toHaveBeenCalled();
  });

  it('answers non-media content types with unsupported_media', async () => {
    await expect(fetchMedia(new URL(server.url('/page')), dest(), options())).rejects.toEqual(
      failure('unsupported_media', /text\/html/),
    );
    await expect(fetchMedia(new URL(server.url('/json')), dest(), options())).rejects.toEqual(
      failure('unsupported_media'),
    );
  });

  it('reports the status of an error answer', async () => {
    await expect(fetchMedia(new URL(server.url('/missing')), dest(), options())).rejects.toEqual(
      failure('media_fetch_failed', /HTTP 404/),
    );
  });

  it('refuses too-large media from Content-Length and while streaming', async () => {
    await expect(fetchMedia(new URL(server.url('/big-announced')), dest(), options())).rejects.toEqual(
      failure('media_too_large', /9\.8 KB/),
    );
    await expect(fetchMedia(new URL(server.url('/big-streamed')), dest(), options())).rejects.toEqual(
      failure('media_too_large'),
    );
  });

  it('limits redirects and schemes', async () => {
    await expect(fetchMedia(new URL(server.url('/loop')), dest(), options())).rejects.toEqual(
      failure('media_fetch_failed', /more than 3 times/),
    );
    await expect(fetchMedia(new URL(server.url('/to-ftp')), dest(), options())).rejects.toEqual(
      failure('media_fetch_failed', /http and https/),
    );
  });

  it('hands share pages (also after a redirect) back for the resolver', async () => {
    expect(await fetchMedia(new URL('https://vm.tiktok.com/ZM123/'), dest(), options())).toEqual({
      kind: 'share-page',
      url: new URL('https://vm.tiktok.com/ZM123/'),
    });
    expect(await fetchMedia(new URL(server.url('/to-share')), dest(), options())).toEqual({
      kind: 'share-page',
      url: new URL('https://www.tiktok.com/@user/video/1'),
    });
  });

  it('gives up on a server that is too slow, as media_fetch_failed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hits = server.hits.length;
    const pending = fetchMedia(
      new URL(server.url('/slow')),
      dest(),
      options({ fetchTimeoutMs: 30_000, maxBytes: 1e9 }),
    );
    const outcome = pending.catch((err: unknown) => err);
    await vi.waitFor(() => expect(server.hits.length).toBe(hits + 1));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await outcome).toEqual(failure('media_fetch_failed', /within 30 s/));
  });

  it('stops waiting for a DNS lookup that hangs when the time limit passes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const hanging: ResolveHost = () => new Promise(() => {});
    const outcome = fetchMedia(
      new URL('http://slow-dns.test/a.mp3'),
      dest(),
      options({ resolveHost: hanging, fetchTimeoutMs: 5_000 }),
    ).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await outcome).toEqual(failure('media_fetch_failed', /within 5 s/));
  });

  it('rejects with the caller’s abort reason', async () => {
    const controller = new AbortController();
    const hits = server.hits.length;
    const outcome = fetchMedia(
      new URL(server.url('/slow')),
      dest(),
      options({ signal: controller.signal, maxBytes: 1e9 }),
    ).catch((err: unknown) => err);
    await vi.waitFor(() => expect(server.hits.length).toBe(hits + 1));
    const reason = new DOMException('job time limit', 'TimeoutError');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
  });
});

describe('isClearlyNotMedia', () => {
  it.each([
    'text/html; charset=utf-8',
    'text/plain',
    'application/json',
    'image/png',
    'application/ld+json',
    'application/xhtml+xml',
  ])('refuses %s', (type) => expect(isClearlyNotMedia(type)).toBe(true));
  it.each([
    null,
    '',
    'audio/mpeg',
    'video/mp4',
    'application/octet-stream',
    'audio/x-wav',
    'application/ogg',
    'binary/octet-stream',
  ])('lets %j through to the decoder', (type) => expect(isClearlyNotMedia(type)).toBe(false));
});
