import { describe, expect, it } from 'vitest';
import {
  fillTemplate,
  placeholdersOf,
  splitCommandLine,
} from '../../../../server/tttranscribe/process/command-line.js';

describe('splitCommandLine', () => {
  it('splits on whitespace and honours quotes and escapes', () => {
    expect(splitCommandLine('yt-dlp -o {output} {url}')).toEqual(['yt-dlp', '-o', '{output}', '{url}']);
    expect(splitCommandLine(`  whisper-cli  -m "/models/my model.bin" -p 'a "b" c' x\\ y "" `)).toEqual([
      'whisper-cli',
      '-m',
      '/models/my model.bin',
      '-p',
      'a "b" c',
      'x y',
      '',
    ]);
    expect(splitCommandLine('a "b\\"c"')).toEqual(['a', 'b"c']);
  });

  it('never interprets shell syntax', () => {
    expect(splitCommandLine('echo $HOME; rm -rf / | cat > x')).toEqual([
      'echo',
      '$HOME;',
      'rm',
      '-rf',
      '/',
      '|',
      'cat',
      '>',
      'x',
    ]);
  });

  it('rejects an unterminated quote', () => {
    expect(() => splitCommandLine('yt-dlp "oops')).toThrow(/Unterminated/);
  });
});

describe('fillTemplate', () => {
  it('replaces placeholders inside arguments without splitting values', () => {
    expect(
      fillTemplate(['prog', '-f', '{wav}', '--out={output}.txt'], { wav: '/tmp/a b;rm.wav', output: '/tmp/t' }),
    ).toEqual(['prog', '-f', '/tmp/a b;rm.wav', '--out=/tmp/t.txt']);
  });

  it('fails on an unknown placeholder', () => {
    expect(() => fillTemplate(['prog', '{nope}'], { wav: 'x' })).toThrow(/Unknown placeholder \{nope\}/);
  });

  it('lists the placeholders a template uses', () => {
    expect([...placeholdersOf(['a', '{wav}', 'x{language}y', '{wav}'])]).toEqual(['wav', 'language']);
  });
});
