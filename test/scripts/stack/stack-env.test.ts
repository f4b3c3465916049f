import { describe, expect, it } from 'vitest';
import { stackEnv, stackPaths } from '../../../scripts/stack/stack-env.js';

const ROOT = '/repo';

describe('stackPaths', () => {
  it('defaults to the repository .env and ./data, and honours PLUCT_ENV_FILE / PLUCT_DATA_DIR', () => {
    expect(stackPaths(ROOT, {})).toMatchObject({
      envFile: '/repo/.env',
      dataDir: '/repo/data',
      engineDb: './data/business-engine.db',
      docsDir: '/repo/docs-dist',
    });
    expect(stackPaths(ROOT, { PLUCT_ENV_FILE: '/tmp/x/.env', PLUCT_DATA_DIR: 'other' })).toMatchObject({
      envFile: '/tmp/x/.env',
      dataDir: '/repo/other',
      engineDb: '/repo/other/business-engine.db',
      tttDb: '/repo/other/tttranscribe.db',
    });
  });
});

describe('stackEnv', () => {
  const paths = stackPaths(ROOT, {});
  it('lets the environment win over .env, and .env over the defaults', () => {
    const { env } = stackEnv(
      paths,
      { TTT_SHARED_SECRET: 'from-file', ENGINE_DB: '/file.db' },
      { TTT_SHARED_SECRET: 'from-env' },
    );
    expect(env['TTT_SHARED_SECRET']).toBe('from-env');
    expect(env['ENGINE_DB']).toBe('/file.db');
    expect(env['TTT_DB']).toBe('./data/tttranscribe.db');
  });

  it('wires the services to each other on the chosen ports', () => {
    const { env, engineUrl, tttUrl } = stackEnv(
      paths,
      { TTT_PORT: '9100' },
      { ENGINE_PORT: '9000', ENGINE_HOST: '0.0.0.0' },
    );
    expect(engineUrl).toBe('http://127.0.0.1:9000');
    expect(tttUrl).toBe('http://127.0.0.1:9100');
    expect(env['TTT_BASE_URL']).toBe('http://127.0.0.1:9100');
    expect(env['TTT_SERVICE_TOKEN_JWKS_URL']).toBe('http://127.0.0.1:9000/.well-known/jwks.json');
    expect(env['DOCS_DIR']).toBe('/repo/docs-dist');
  });

  it('keeps explicit wiring, ignores empty overrides of derived values, and leaves the JWKS URL alone when a JWKS file is set', () => {
    const { env } = stackEnv(
      paths,
      { TTT_BASE_URL: 'http://ttt.internal:8788' },
      { TTT_SERVICE_TOKEN_JWKS_FILE: '/keys.json', DOCS_DIR: '' },
    );
    expect(env['TTT_BASE_URL']).toBe('http://ttt.internal:8788');
    expect(env['TTT_SERVICE_TOKEN_JWKS_URL']).toBeUndefined();
    expect(env['DOCS_DIR']).toBe('/repo/docs-dist');
  });
});
