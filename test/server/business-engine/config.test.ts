import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadEngineConfig, secretId } from '../../../server/business-engine/config.js';
import { generateSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import { ConfigError } from '../../../server/shared/config/env.js';
import { testEngineEnv, testServiceTokenKey } from '../../helpers/engine-app.js';

function problemsOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadEngineConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadEngineConfig', () => {
  it('refuses an UPSTREAM_TIMEOUT_MS above 30 s, which would make a submission in flight look stuck to the sweep', async () => {
    expect(loadEngineConfig(await testEngineEnv({ UPSTREAM_TIMEOUT_MS: '30000' })).upstreamTimeoutMs).toBe(30_000);
    expect(problemsOf(await testEngineEnv({ UPSTREAM_TIMEOUT_MS: '30001' })).problems).toEqual([
      {
        variable: 'UPSTREAM_TIMEOUT_MS',
        message: expect.stringMatching(/^must be at most 30000 \(30 s\): a submission still waiting/) as unknown,
      },
    ]);
  });

  it('reads ENGINE_TRUST_PROXY (default off) and refuses a value Express would misread, naming it', async () => {
    expect(loadEngineConfig(await testEngineEnv()).trustProxy).toBe(false);
    expect(loadEngineConfig(await testEngineEnv({ ENGINE_TRUST_PROXY: 'loopback,10.0.0.0/8' })).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
    expect(loadEngineConfig(await testEngineEnv({ ENGINE_TRUST_PROXY: '2' })).trustProxy).toBe(2);
    expect(problemsOf(await testEngineEnv({ ENGINE_TRUST_PROXY: 'true' })).problems).toEqual([
      { variable: 'ENGINE_TRUST_PROXY', message: expect.stringMatching(/hop count/) as unknown },
    ]);
  });

  it('reads a complete environment, with the documented defaults', async () => {
    const env = await testEngineEnv();
    for (const name of [
      'ENGINE_HOST',
      'ENGINE_PORT',
      'ENGINE_DB',
      'TTT_BASE_URL',
      'SIGNUP_BONUS_CREDITS',
      'RATE_LIMIT_VEND_PER_MIN',
      'RATE_LIMIT_TRANSCRIBE_PER_MIN',
      'RATE_LIMIT_READ_PER_MIN',
      'RATE_LIMIT_INTEGRATIONS_PER_MIN',
      'RATE_LIMIT_ADMIN_PER_MIN',
      'RATE_LIMIT_HEALTH_PER_MIN',
      'UPSTREAM_TIMEOUT_MS',
      'DOCS_DIR',
      'LOG_LEVEL',
    ])
      Reflect.deleteProperty(env, name);
    const config = loadEngineConfig(env);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      dbPath: './data/business-engine.db',
      tttBaseUrl: 'http://127.0.0.1:8788',
      signupBonusCredits: 3,
      rateLimits: {
        vendPerMin: 30,
        transcribePerMin: 30,
        readPerMin: 300,
        integrationsPerMin: 30,
        adminPerMin: 120,
        healthPerMin: 60,
      },
      upstreamTimeoutMs: 5000,
      sweepIntervalSec: 60,
      docsDir: 'docs-dist',
      logLevel: 'info',
      userJwt: { mode: 'hs256' },
    });
    expect(config.tttKeys).toHaveLength(1);
  });

  it('uses USER_JWT_SECRET as raw UTF-8 bytes, never base64-decoded', async () => {
    const secret = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk='; // looks like base64: still taken as its 44 characters
    const config = loadEngineConfig(await testEngineEnv({ USER_JWT_SECRET: secret }));
    expect(config.userJwt.mode === 'hs256' && Buffer.from(config.userJwt.secret).toString('utf8')).toBe(secret);
  });

  it('stops when TTT_SHARED_SECRET is missing, naming the variable', async () => {
    const error = problemsOf(await testEngineEnv({ TTT_SHARED_SECRET: undefined }));
    expect(error.problems).toEqual([
      expect.objectContaining({ variable: 'TTT_SHARED_SECRET', message: expect.stringContaining('got nothing') }),
    ]);
  });

  it('stops on a base64 secret instead of tttsk_, without printing the value', async () => {
    const value = Buffer.alloc(32, 7).toString('base64');
    const error = problemsOf(await testEngineEnv({ TTT_SHARED_SECRET: value }));
    expect(error.problems[0]).toMatchObject({
      variable: 'TTT_SHARED_SECRET',
      message: expect.stringContaining('standard base64'),
    });
    expect(error.message).not.toContain(value);
  });

  it('stops on a weak USER_JWT_SECRET (under 32 bytes), naming the rule and not the value', async () => {
    const error = problemsOf(await testEngineEnv({ USER_JWT_SECRET: 'short-secret' }));
    expect(error.problems).toEqual([
      {
        variable: 'USER_JWT_SECRET',
        message: expect.stringMatching(/at least 32 bytes; got 12.*never base64-decoded/),
      },
    ]);
    expect(error.message).not.toContain('short-secret');
  });

  it('needs USER_JWT_SECRET or USER_JWT_JWKS_URL, not both', async () => {
    expect(problemsOf(await testEngineEnv({ USER_JWT_SECRET: undefined })).problems[0]).toMatchObject({
      variable: 'USER_JWT_SECRET',
      message: expect.stringContaining('USER_JWT_JWKS_URL'),
    });
    expect(
      problemsOf(await testEngineEnv({ USER_JWT_JWKS_URL: 'https://id.example.com/jwks.json' })).problems[0],
    ).toMatchObject({ variable: 'USER_JWT_SECRET', message: expect.stringContaining('both set') });
    const jwks = loadEngineConfig(
      await testEngineEnv({
        USER_JWT_SECRET: undefined,
        USER_JWT_JWKS_URL: 'https://id.example.com/jwks.json',
        USER_JWT_ISSUER: 'https://id.example.com',
        USER_JWT_AUDIENCE: 'pluct',
      }),
    );
    expect(jwks.userJwt).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://id.example.com/jwks.json',
      issuer: 'https://id.example.com',
      audience: 'pluct',
    });
  });

  it('reads TTT_SHARED_SECRET_NEXT as a second key for rotation', async () => {
    const config = loadEngineConfig(await testEngineEnv({ TTT_SHARED_SECRET_NEXT: generateSharedSecret() }));
    expect(config.tttKeys).toHaveLength(2);
    expect(config.tttKeys[0]!.keyId).not.toBe(config.tttKeys[1]!.keyId);
  });

  it('derives the service-token kid from the RFC 7638 thumbprint, or takes the JWK kid', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const config = loadEngineConfig(await testEngineEnv({ SERVICE_TOKEN_PRIVATE_KEY: JSON.stringify(jwk) }));
    expect(config.serviceTokenKey.kid).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
    const named = loadEngineConfig(
      await testEngineEnv({ SERVICE_TOKEN_PRIVATE_KEY: await testServiceTokenKey('st-2026-01') }),
    );
    expect(named.serviceTokenKey.kid).toBe('st-2026-01');
  });

  it.each([
    ['missing', undefined, 'is required'],
    ['not JSON', 'not-json', 'not valid JSON'],
    ['a public key only', 'PUBLIC', 'no "d" member'],
    ['an RSA key', JSON.stringify({ kty: 'RSA', n: 'x', e: 'AQAB', d: 'y' }), 'P-256'],
  ])('stops on a SERVICE_TOKEN_PRIVATE_KEY that is %s', async (_name, value, message) => {
    let v = value;
    if (v === 'PUBLIC') {
      const { d: _d, ...pub } = JSON.parse(await testServiceTokenKey()) as Record<string, string>;
      v = JSON.stringify(pub);
    }
    const error = problemsOf(await testEngineEnv({ SERVICE_TOKEN_PRIVATE_KEY: v }));
    expect(error.problems).toEqual([
      { variable: 'SERVICE_TOKEN_PRIVATE_KEY', message: expect.stringContaining(message) },
    ]);
  });

  it('stops on a SERVICE_TOKEN_PRIVATE_KEY whose private part does not match its public x/y, naming the variable', async () => {
    const one = JSON.parse(await testServiceTokenKey()) as Record<string, string>;
    const other = JSON.parse(await testServiceTokenKey()) as Record<string, string>;
    const mixed = JSON.stringify({ ...one, d: other['d'] });
    const error = problemsOf(await testEngineEnv({ SERVICE_TOKEN_PRIVATE_KEY: mixed }));
    expect(error.problems).toEqual([
      { variable: 'SERVICE_TOKEN_PRIVATE_KEY', message: expect.stringContaining('does not match its public key') },
    ]);
    expect(JSON.stringify(error.problems)).not.toContain(other['d']);
  });

  it('bounds user JWT lifetimes at 24 h unless USER_JWT_MAX_LIFETIME_SECONDS says otherwise', async () => {
    expect(loadEngineConfig(await testEngineEnv()).userJwtMaxLifetimeSec).toBe(86_400);
    expect(loadEngineConfig(await testEngineEnv({ USER_JWT_MAX_LIFETIME_SECONDS: '3600' })).userJwtMaxLifetimeSec).toBe(
      3600,
    );
    expect(problemsOf(await testEngineEnv({ USER_JWT_MAX_LIFETIME_SECONDS: '0' })).problems).toEqual([
      { variable: 'USER_JWT_MAX_LIFETIME_SECONDS', message: 'must be positive' },
    ]);
  });

  it('stops on a short ADMIN_TOKEN', async () => {
    const error = problemsOf(await testEngineEnv({ ADMIN_TOKEN: 'too-short' }));
    expect(error.problems).toEqual([{ variable: 'ADMIN_TOKEN', message: 'must be at least 32 characters' }]);
    expect(error.message).not.toContain('too-short');
  });

  it('reports every problem at once, and never a secret', async () => {
    const env = await testEngineEnv({
      TTT_SHARED_SECRET: 'hunter2',
      USER_JWT_SECRET: 'tiny',
      ADMIN_TOKEN: 'small',
      ENGINE_PORT: '99999',
      SIGNUP_BONUS_CREDITS: '-1',
    });
    const error = problemsOf(env);
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      'ADMIN_TOKEN',
      'ENGINE_PORT',
      'SIGNUP_BONUS_CREDITS',
      'TTT_SHARED_SECRET',
      'USER_JWT_SECRET',
    ]);
    for (const secret of ['hunter2', 'tiny', 'small']) expect(error.message).not.toContain(secret);
  });

  it('gives secrets short derived ids that differ per value and reveal nothing', () => {
    const a = secretId('ADMIN_TOKEN', 'a'.repeat(40));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(secretId('ADMIN_TOKEN', 'b'.repeat(40))).not.toBe(a);
    expect(secretId('USER_JWT_SECRET', 'a'.repeat(40))).not.toBe(a);
  });
});
