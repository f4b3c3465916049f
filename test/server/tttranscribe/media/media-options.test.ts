import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createMediaProcessor } from '../../../../server/tttranscribe/media/create-media-processor.js';
import { DEFAULT_SHARE_HOSTS, resolveMediaOptions } from '../../../../server/tttranscribe/media/media-options.js';

describe('resolveMediaOptions', () => {
  it('fills in safe defaults', () => {
    const options = resolveMediaOptions();
    expect(options).toMatchObject({
      maxBytes: 50 * 1024 * 1024,
      maxRedirects: 5,
      fetchTimeoutMs: 60_000,
      maxDurationSec: 1800,
      allowPrivateCidrs: [],
      shareHosts: DEFAULT_SHARE_HOSTS,
      resolverCommand: null,
      ffmpegPath: 'ffmpeg',
      engine: { kind: 'pocketsphinx' },
      tmpDir: tmpdir(),
    });
    expect(options.shareHosts).toContain('vm.tiktok.com');
  });

  it('splits a resolver command line into argv', () => {
    const options = resolveMediaOptions({ resolverCommand: 'yt-dlp --no-playlist -o {output} "{url}"' });
    expect(options.resolverCommand).toEqual(['yt-dlp', '--no-playlist', '-o', '{output}', '{url}']);
  });

  it.each([
    [{ maxBytes: 0 }, 'maxBytes'],
    [{ maxBytes: -5 }, 'maxBytes'],
    [{ maxBytes: 1.5 }, 'maxBytes'],
    [{ maxRedirects: -1 }, 'maxRedirects'],
    [{ fetchTimeoutMs: 0 }, 'fetchTimeoutMs'],
    [{ maxDurationSec: 0 }, 'maxDurationSec'],
    [{ allowPrivateCidrs: ['localhost'] }, 'allowPrivateCidrs'],
    [{ allowPrivateCidrs: ['10.0.0.0/40'] }, 'allowPrivateCidrs'],
    [{ resolverCommand: 'yt-dlp {url}' }, 'resolverCommand'],
    [{ resolverCommand: 'yt-dlp -o {output} {url} {secret}' }, 'resolverCommand'],
    [{ resolverCommand: '' }, 'resolverCommand'],
    [{ ffmpegPath: '' }, 'ffmpegPath'],
    [{ engine: { kind: 'command' } }, 'engine'],
    [{ engine: { kind: 'whisper' } }, 'engine'],
    [{ maxbytes: 5 }, 'maxbytes'],
  ])('rejects %j', (input, field) => {
    expect(() => resolveMediaOptions(input as never)).toThrow(
      new RegExp(`Invalid media processor options[\\s\\S]*${field}`),
    );
  });

  it('is applied when the processor is built, so a bad config fails at start-up', () => {
    expect(() => createMediaProcessor({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => createMediaProcessor({ engine: { kind: 'command', command: 'whisper-cli -f audio.wav' } })).toThrow(
      /\{wav\}/,
    );
  });
});
