import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../server/shared/config/env.js';
import { DEFAULT_DB_PATH, DEFAULT_JWKS_URL, loadConfig } from '../../../server/tttranscribe/config.js';
import { TEST_KEY, TEST_KEY_NEXT, TEST_SECRET, TEST_SECRET_NEXT } from '../../helpers/ttt-app.js';

/** Runs loadConfig and returns the ConfigError it throws (failing the test if it does not). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  return expect.fail('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('applies the documented defaults; no secret has one', () => {
    const config = loadConfig({ TTT_SHARED_SECRET: TEST_SECRET });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8788,
      dbPath: DEFAULT_DB_PATH,
      serviceTokenKeys: { kind: 'url', url: DEFAULT_JWKS_URL },
      allowedMediaHosts: [],
      workerConcurrency: 2,
      jobTimeoutSec: 300,
      logLevel: 'info',
      media: { engine: { kind: 'pocketsphinx' } },
    });
    expect(config.engineAuthKeys.map((k) => k.keyId)).toEqual([TEST_KEY.keyId]);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      TTT_SHARED_SECRET: TEST_SECRET,
      TTT_SHARED_SECRET_NEXT: TEST_SECRET_NEXT,
      TTT_HOST: '0.0.0.0',
      TTT_PORT: '0',
      TTT_DB: ':memory:',
      TTT_SERVICE_TOKEN_JWKS_FILE: '/etc/pluct/jwks.json',
      TTT_ALLOWED_MEDIA_HOSTS: 'cdn.example.com, *.Example.org',
      TTT_WORKER_CONCURRENCY: '4',
      TTT_JOB_TIMEOUT_SEC: '60',
      LOG_LEVEL: 'debug',
      TTT_MEDIA_MAX_BYTES: '1000000',
      TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.1/32',
      TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST: 'yes',
      TTT_TRANSCRIBER: 'command',
      TTT_TRANSCRIBER_COMMAND: 'whisper-cli -m /models/base.bin -nt -f {wav}',
      TTT_TRANSCRIBER_MODEL: 'base',
      TTT_MEDIA_RESOLVER: 'yt-dlp -o {output} {url}',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      dbPath: ':memory:',
      serviceTokenKeys: { kind: 'file', path: '/etc/pluct/jwks.json' },
      allowedMediaHosts: ['cdn.example.com', '*.example.org'],
      workerConcurrency: 4,
      jobTimeoutSec: 60,
      logLevel: 'debug',
      media: {
        maxBytes: 1_000_000,
        allowPrivateCidrs: ['127.0.0.1/32'],
        resolverCommand: 'yt-dlp -o {output} {url}',
        engine: { kind: 'command', command: 'whisper-cli -m /models/base.bin -nt -f {wav}', model: 'base' },
      },
    });
    expect(config.engineAuthKeys.map((k) => k.keyId)).toEqual([TEST_KEY.keyId, TEST_KEY_NEXT.keyId]);
  });

  it('refuses TTT_ALLOW_PRIVATE_CIDRS on a host reachable from other machines unless confirmed', () => {
    const env = { TTT_SHARED_SECRET: TEST_SECRET, TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8,::1/128' };
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'ttt.internal']) {
      const error = configError({ ...env, TTT_HOST: host });
      expect(error.problems).toEqual([
        {
          variable: 'TTT_ALLOW_PRIVATE_CIDRS',
          message: expect.stringMatching(
            new RegExp(
              `non-public ranges \\(127\\.0\\.0\\.0/8, ::1/128\\) while TTT_HOST=${host.replace(/[.]/g, '\\.')} .*TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST=yes`,
            ),
          ) as unknown,
        },
      ]);
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(loadConfig({ ...env, TTT_HOST: host }).media.allowPrivateCidrs).toEqual(['127.0.0.0/8', '::1/128']);
    const confirmed = { ...env, TTT_HOST: '0.0.0.0', TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST: 'yes' };
    expect(loadConfig(confirmed).media.allowPrivateCidrs).toEqual(['127.0.0.0/8', '::1/128']);
    expect(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET, TTT_HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(configError({ ...confirmed, TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST: 'true' }).problems).toEqual([
      { variable: 'TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST', message: 'must be yes, or unset' },
    ]);
  });

  it('reads TTT_TRUST_PROXY (default off) and refuses a value Express would misread, naming it', () => {
    expect(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET }).trustProxy).toBe(false);
    expect(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET, TTT_TRUST_PROXY: 'loopback' }).trustProxy).toEqual([
      'loopback',
    ]);
    expect(configError({ TTT_SHARED_SECRET: TEST_SECRET, TTT_TRUST_PROXY: 'lb.internal' }).problems).toEqual([
      { variable: 'TTT_TRUST_PROXY', message: expect.stringMatching(/hop count/) as unknown },
    ]);
  });

  it('treats blank variables as unset', () => {
    const config = loadConfig({
      TTT_SHARED_SECRET: TEST_SECRET,
      TTT_SHARED_SECRET_NEXT: '',
      TTT_PORT: '',
      TTT_DB: ' ',
    });
    expect(config).toMatchObject({ port: 8788, dbPath: DEFAULT_DB_PATH });
    expect(config.engineAuthKeys).toHaveLength(1);
  });

  const secretCases: Array<[string, string | undefined, RegExp]> = [
    ['missing', undefined, /got nothing \(unset or empty\)/],
    ['empty', '', /got nothing/],
    ['malformed (too short)', 'tttsk_AAECAwQFBgcICQoLDA0ODxAR', /decodes to \d+ bytes, not 32/],
    [
      'standard base64 instead of tttsk_',
      'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
      /without the tttsk_ prefix.*standard base64/,
    ],
    ['a raw password', 'correct horse battery staple', /without the tttsk_ prefix/],
  ];
  it.each(secretCases)(
    'TTT_SHARED_SECRET %s -> stops start-up naming the variable and the rule, never the value',
    (_name, value, rule) => {
      const error = configError({ TTT_SHARED_SECRET: value });
      expect(error.problems.map((p) => p.variable)).toEqual(['TTT_SHARED_SECRET']);
      expect(error.message).toMatch(/TTT_SHARED_SECRET: must be 'tttsk_' followed by 43 base64url characters/);
      expect(error.message).toMatch(rule);
      if (value) expect(error.message).not.toContain(value);
    },
  );

  it('a malformed TTT_SHARED_SECRET_NEXT is named on its own', () => {
    const value = 'tttsk_+/+/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx';
    const error = configError({ TTT_SHARED_SECRET: TEST_SECRET, TTT_SHARED_SECRET_NEXT: value });
    expect(error.problems.map((p) => p.variable)).toEqual(['TTT_SHARED_SECRET_NEXT']);
    expect(error.message).not.toContain(value);
  });

  it.each([
    ['TTT_PORT', { TTT_PORT: 'eighty' }, /must be a port number/],
    ['TTT_PORT', { TTT_PORT: '70000' }, /between 0 and 65535/],
    ['TTT_WORKER_CONCURRENCY', { TTT_WORKER_CONCURRENCY: '0' }, /positive/],
    ['TTT_JOB_TIMEOUT_SEC', { TTT_JOB_TIMEOUT_SEC: '1.5' }, /whole number/],
    ['TTT_SERVICE_TOKEN_JWKS_URL', { TTT_SERVICE_TOKEN_JWKS_URL: 'ftp://engine/jwks' }, /http\(s\) URL/],
    [
      'TTT_SERVICE_TOKEN_JWKS_FILE',
      { TTT_SERVICE_TOKEN_JWKS_URL: 'http://a/jwks', TTT_SERVICE_TOKEN_JWKS_FILE: '/x.json' },
      /not be set together/,
    ],
    ['TTT_ALLOWED_MEDIA_HOSTS', { TTT_ALLOWED_MEDIA_HOSTS: 'https://cdn.example.com/' }, /host names/],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }, /one of/],
    ['TTT_TRANSCRIBER', { TTT_TRANSCRIBER: 'whisper' }, /pocketsphinx, command or none/],
    ['TTT_TRANSCRIBER_COMMAND', { TTT_TRANSCRIBER: 'command' }, /required when TTT_TRANSCRIBER=command/],
    [
      'TTT_TRANSCRIBER_COMMAND',
      { TTT_TRANSCRIBER: 'command', TTT_TRANSCRIBER_COMMAND: 'whisper-cli audio.wav' },
      /\{wav\}/,
    ],
    ['TTT_ALLOW_PRIVATE_CIDRS', { TTT_ALLOW_PRIVATE_CIDRS: 'localhost' }, /CIDR/],
    ['TTT_MEDIA_RESOLVER', { TTT_MEDIA_RESOLVER: 'yt-dlp {url}' }, /\{output\}/],
    ['TTT_MEDIA_MAX_BYTES', { TTT_MEDIA_MAX_BYTES: '-1' }, /at least 1/],
  ])('%s invalid -> ConfigError naming it', (variable, env, rule) => {
    const error = configError({ TTT_SHARED_SECRET: TEST_SECRET, ...env });
    const problem = error.problems.find((p) => p.variable === variable);
    expect(problem?.message).toMatch(rule);
  });

  it('reports every problem at once', () => {
    const error = configError({ TTT_PORT: 'x', TTT_TRANSCRIBER: 'whisper' });
    expect(error.problems.map((p) => p.variable).sort()).toEqual(['TTT_PORT', 'TTT_SHARED_SECRET', 'TTT_TRANSCRIBER']);
  });
});

describe('loadConfig: storage and workers', () => {
  it('defaults: SQLite, an in-process worker, 30 s leases, 3 attempts, 10 pooled connections', () => {
    expect(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET })).toMatchObject({
      dbPoolMax: 10,
      runWorker: true,
      jobLeaseSec: 30,
      jobMaxAttempts: 3,
    });
  });

  it('reads TTT_DB as a PostgreSQL URL and the worker variables', () => {
    expect(
      loadConfig({
        TTT_SHARED_SECRET: TEST_SECRET,
        TTT_DB: 'postgres://ttt@db.internal/ttt',
        TTT_DB_POOL_MAX: '25',
        TTT_RUN_WORKER: 'false',
        TTT_JOB_LEASE_SEC: '12',
        TTT_JOB_MAX_ATTEMPTS: '5',
      }),
    ).toMatchObject({
      dbPath: 'postgres://ttt@db.internal/ttt',
      dbPoolMax: 25,
      runWorker: false,
      jobLeaseSec: 12,
      jobMaxAttempts: 5,
    });
  });

  it('names each bad storage or worker variable', () => {
    const error = configError({
      TTT_SHARED_SECRET: TEST_SECRET,
      TTT_RUN_WORKER: 'no',
      TTT_JOB_LEASE_SEC: '1',
      TTT_DB_POOL_MAX: '0',
      TTT_JOB_MAX_ATTEMPTS: 'x',
    });
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      'TTT_DB_POOL_MAX',
      'TTT_JOB_LEASE_SEC',
      'TTT_JOB_MAX_ATTEMPTS',
      'TTT_RUN_WORKER',
    ]);
  });

  it('a worker process needs no shared secret; the API still does', () => {
    expect(loadConfig({ TTT_DB: 'postgres://ttt@db.internal/ttt' }, { worker: true }).engineAuthKeys).toEqual([]);
    expect(configError({ TTT_DB: 'postgres://ttt@db.internal/ttt' }).problems.map((p) => p.variable)).toContain(
      'TTT_SHARED_SECRET',
    );
  });
});
