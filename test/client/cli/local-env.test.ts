import { describe, expect, it } from 'vitest';
import type { Io } from '../../../client/cli/command.js';
import { DEFAULT_ENGINE_URL, DEFAULT_TTT_URL, engineUrl, tttUrl } from '../../../client/cli/local-env.js';

const io = (env: Record<string, string>): Io => ({
  out: () => undefined,
  err: () => undefined,
  isTTY: false,
  errIsTTY: false,
  env,
  cwd: '/',
});

describe('where the CLI finds the services', () => {
  it('takes --engine, else PLUCT_ENGINE_URL, else the local stack on ENGINE_PORT, else the default port', () => {
    expect(engineUrl({ engine: 'http://e.example/' }, io({ PLUCT_ENGINE_URL: 'http://x', ENGINE_PORT: '9000' }))).toBe(
      'http://e.example',
    );
    expect(engineUrl({}, io({ PLUCT_ENGINE_URL: 'http://x:1/', ENGINE_PORT: '9000' }))).toBe('http://x:1');
    expect(engineUrl({}, io({ ENGINE_PORT: '9000' }))).toBe('http://127.0.0.1:9000');
    expect(engineUrl({}, io({ ENGINE_PORT: 'not-a-port' }))).toBe(DEFAULT_ENGINE_URL);
    expect(engineUrl({}, io({}))).toBe(DEFAULT_ENGINE_URL);
  });

  it('finds TTTranscribe for doctor the same way: PLUCT_TTT_URL, else TTT_PORT, else the default port', () => {
    expect(tttUrl({ PLUCT_TTT_URL: 'http://t:2/', TTT_PORT: '9001' })).toBe('http://t:2');
    expect(tttUrl({ TTT_PORT: '9001' })).toBe('http://127.0.0.1:9001');
    expect(tttUrl({})).toBe(DEFAULT_TTT_URL);
  });
});
