import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isUrl, serveLocalFile } from '../../../client/cli/local-media-server.js';

const dir = mkdtempSync(join(tmpdir(), 'pluct-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('serveLocalFile', () => {
  it('serves only the one file, only under its random path, only with GET or HEAD, until closed', async () => {
    const path = join(dir, 'talk.wav');
    writeFileSync(path, 'RIFF....WAVE');
    const media = await serveLocalFile(path);
    const other = await serveLocalFile(path);
    try {
      const url = new URL(media.url);
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.pathname).toMatch(/^\/[A-Za-z0-9_-]{32}\/talk\.wav$/);
      expect(new URL(other.url).pathname).not.toBe(url.pathname);
      const ok = await fetch(media.url);
      expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'audio/wav', 'RIFF....WAVE']);
      const guessed = await fetch(new URL('/talk.wav', media.url));
      expect(guessed.status).toBe(404);
      await guessed.body?.cancel();
      const post = await fetch(media.url, { method: 'POST' });
      expect(post.status).toBe(405);
      await post.body?.cancel();
      expect(media.served()).toBe(1);
    } finally {
      await media.close();
      await other.close();
    }
    await expect(fetch(media.url)).rejects.toThrow();
  });

  it('refuses a directory or a missing file', async () => {
    await expect(serveLocalFile(dir)).rejects.toThrow(/is not a file/);
    await expect(serveLocalFile(join(dir, 'absent.mp4'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('tells URLs from paths', () => {
    expect(
      ['https://a.example/x.mp4', 'http://127.0.0.1:9/x', './clip.mp4', 'clip.mp4', '/tmp/c:d.mp4'].map(isUrl),
    ).toEqual([true, true, false, false, false]);
  });
});
