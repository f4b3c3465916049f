/**
 * Outside the sandbox none of it exists: a real service started with any sandbox setting refuses to start and
 * names the variable, and the real services refuse the sandbox-only fault header with 400 invalid_request.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../server/business-engine/config.js';
import { ConfigError } from '../../server/shared/config/env.js';
import type { OpenApiDocument } from '../../server/shared/http/operation-matcher.js';
import { loadConfig as loadTttConfig } from '../../server/tttranscribe/config.js';
import { generateSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { createResponseChecker } from '../contract/support/response-checker.js';
import { engineProcessEnv, runServiceMain, tttProcessEnv } from '../contract/support/service-process.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';
import { startEngineTestApp, testEngineEnv, type EngineTestApp } from '../helpers/engine-app.js';
import { startTttTestApp, type TttTestApp } from '../helpers/ttt-app.js';

const spec = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../generated/${name}/openapi.json`, import.meta.url), 'utf8')) as OpenApiDocument;
const checkEngine = createResponseChecker(spec('business-engine'));
const checkTtt = createResponseChecker(spec('tttranscribe'));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('a production configuration with a sandbox setting', () => {
  it('the Business Engine refuses it, naming each sandbox variable', async () => {
    const env = await testEngineEnv({ PLUCT_SANDBOX_FAULTS: './faults.json', PLUCT_SANDBOX_SEED: '7' });
    const found = problems(() => loadEngineConfig(env));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^PLUCT_SANDBOX_FAULTS: is a sandbox setting/);
    expect(found[1]).toMatch(/^PLUCT_SANDBOX_SEED: is a sandbox setting/);
    expect(
      problems(() => loadEngineConfig({ ...env, PLUCT_SANDBOX_FAULTS: undefined, PLUCT_SANDBOX_SEED: undefined })),
    ).toEqual([]);
  });

  it('TTTranscribe refuses it, naming the variable', () => {
    const env = { TTT_SHARED_SECRET: generateSharedSecret(), PLUCT_SANDBOX_CORS_ORIGINS: '*' };
    expect(problems(() => loadTttConfig(env))).toEqual([
      expect.stringMatching(/^PLUCT_SANDBOX_CORS_ORIGINS: is a sandbox setting/),
    ]);
    expect(problems(() => loadTttConfig({ ...env, PLUCT_SANDBOX_CORS_ORIGINS: undefined }))).toEqual([]);
  });

  // The real entry points, as an operator starts them.
  it.concurrent.each(['business-engine', 'tttranscribe'] as const)(
    '%s main.ts exits 1 and names the variable',
    async (service) => {
      const env =
        service === 'business-engine'
          ? await engineProcessEnv({ PLUCT_SANDBOX_JOB_MS: '100' })
          : tttProcessEnv({ TTT_SHARED_SECRET: generateSharedSecret(), PLUCT_SANDBOX_JOB_MS: '100' });
      const exit = await runServiceMain(service, env);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toMatch(/PLUCT_SANDBOX_JOB_MS: is a sandbox setting/);
    },
    30_000,
  );
});

describe('the sandbox-only fault header at the real services', () => {
  let be: EngineTestApp;
  let ttt: TttTestApp;
  const cleanup = createCleanupStack();
  beforeAll(async () => {
    be = await startEngineTestApp();
    cleanup.defer(() => be.close());
    ttt = await startTttTestApp();
    cleanup.defer(() => ttt.close());
  });
  afterAll(() => cleanup.run());

  it('the Business Engine answers 400 invalid_request (sandbox_only) and does nothing else', async () => {
    const jwt = await be.userJwt({ sub: 'fault-header-user' });
    const response = await fetch(`${be.baseUrl}/v1/vend-token`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${jwt}`,
        'Content-Type': 'application/json',
        'Pluct-Sandbox-Fault': 'error=internal_error',
      },
      body: JSON.stringify({ clientRequestId: 'fault-header-1' }),
    });
    const text = await response.text();
    expect(
      checkEngine({
        method: 'POST',
        path: '/v1/vend-token',
        status: response.status,
        headers: response.headers,
        body: text,
      }),
    ).toEqual([]);
    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({
      code: 'invalid_request',
      details: { header: 'Pluct-Sandbox-Fault', reason: 'sandbox_only' },
    });
    // Nothing was charged: the balance still holds the whole signup bonus.
    const balance = await be.client.GET('/v1/credits/balance', { headers: be.bearer(jwt) });
    expect(balance.data?.balance).toBe(be.config.signupBonusCredits);
  });

  it('TTTranscribe answers 400 invalid_request (sandbox_only)', async () => {
    const response = await fetch(`${ttt.baseUrl}/health`, { headers: { 'Pluct-Sandbox-Fault': 'upstream=down' } });
    const text = await response.text();
    expect(
      checkTtt({ method: 'GET', path: '/health', status: response.status, headers: response.headers, body: text }),
    ).toEqual([]);
    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ code: 'invalid_request', details: { reason: 'sandbox_only' } });
  });
});
