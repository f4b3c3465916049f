import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../../../server/tttranscribe/process/format.js';
import {
  isShareHost,
  resolveShareLink,
  type ResolveShareLinkOptions,
} from '../../../../server/tttranscribe/media/share-link.js';

let dir: string;
let n = 0;
const SHARE = new URL('https://vm.tiktok.com/ZM123/');
const failure = (code: string, message: RegExp): unknown =>
  expect.objectContaining({ name: 'JobFailure', code, message: expect.stringMatching(message) });

/** A stand-in for yt-dlp: a tiny script that writes its URL argument into the output path it is given. */
async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function jobDir(): Promise<string> {
  return mkdtemp(join(dir, `job-${n++}-`));
}

const options = (
  resolverCommand: readonly string[] | null,
  overrides: Partial<ResolveShareLinkOptions> = {},
): ResolveShareLinkOptions => ({
  resolverCommand,
  resolverTimeoutMs: 10_000,
  maxBytes: 1_000,
  signal: new AbortController().signal,
  ...overrides,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ttt-share-test-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('isShareHost', () => {
  it('matches exact hosts and *.subdomain patterns, case-insensitively', () => {
    const hosts = ['vm.tiktok.com', '*.youtube.com'];
    expect(isShareHost(new URL('https://VM.TikTok.com/x'), hosts)).toBe(true);
    expect(isShareHost(new URL('https://vm.tiktok.com./x'), hosts)).toBe(true);
    expect(isShareHost(new URL('https://m.youtube.com/watch?v=1'), hosts)).toBe(true);
    expect(isShareHost(new URL('https://youtube.com/watch?v=1'), hosts)).toBe(false);
    expect(isShareHost(new URL('https://v16.tiktokcdn.com/clip.mp4'), hosts)).toBe(false);
    expect(isShareHost(new URL('https://evilvm.tiktok.com.example/x'), hosts)).toBe(false);
  });
});

describe('resolveShareLink', () => {
  it('without a resolver, fails with guidance', async () => {
    await expect(resolveShareLink(SHARE, await jobDir(), options(null))).rejects.toEqual(
      failure('media_fetch_failed', /share page.*direct link.*TTT_MEDIA_RESOLVER \(e\.g\. yt-dlp\)/s),
    );
  });

  it('runs the resolver without a shell and returns the file it wrote', async () => {
    const fake = await script('fake-yt-dlp', 'out="$2"; url="$3"; printf "%s" "$url" > "$out"');
    const file = await resolveShareLink(SHARE, await jobDir(), options([fake, '-o', '{output}', '{url}']));
    expect(await readFile(file, 'utf8')).toBe(SHARE.href);
  });

  it('accepts a file the resolver wrote with an added extension', async () => {
    const fake = await script('fake-ext', 'printf data > "$1.mp4"; printf partial > "$1.f1.part"');
    const file = await resolveShareLink(SHARE, await jobDir(), options([fake, '{output}', '{url}']));
    expect(file).toMatch(/media\.mp4$/);
  });

  it('maps resolver failures to media_fetch_failed and big results to media_too_large', async () => {
    const failing = await script('failing', 'echo "ERROR: secret-token-in-stderr" >&2; exit 1');
    await expect(resolveShareLink(SHARE, await jobDir(), options([failing, '{output}', '{url}']))).rejects.toEqual(
      failure('media_fetch_failed', /^(?!.*secret-token).*public and still exists/),
    );
    const silent = await script('silent', 'exit 0');
    await expect(resolveShareLink(SHARE, await jobDir(), options([silent, '{output}', '{url}']))).rejects.toEqual(
      failure('media_fetch_failed', /did not lead to any downloadable media/),
    );
    const big = await script('big', 'head -c 5000 /dev/zero > "$1"');
    await expect(resolveShareLink(SHARE, await jobDir(), options([big, '{output}', '{url}']))).rejects.toEqual(
      failure('media_too_large', /1000 bytes/),
    );
    await expect(
      resolveShareLink(SHARE, await jobDir(), options([join(dir, 'absent'), '{output}', '{url}'])),
    ).rejects.toEqual(failure('media_fetch_failed', /could not be started \(ENOENT\)/));
  });

  it('stops a resolver that takes too long', async () => {
    const stuck = await script('stuck', 'exec sleep 30');
    await expect(
      resolveShareLink(SHARE, await jobDir(), options([stuck, '{output}', '{url}'], { resolverTimeoutMs: 200 })),
    ).rejects.toEqual(failure('media_fetch_failed', /took longer than 0\.2 s/));
  });
});

describe('formatBytes', () => {
  it('formats limits for messages', () => {
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(10)).toBe('10 bytes');
  });
});
