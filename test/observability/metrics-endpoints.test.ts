import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../server/business-engine/config.js';
import { loadConfig as loadTttConfig } from '../../server/tttranscribe/config.js';
import { ConfigError } from '../../server/shared/config/env.js';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { startEngineTestApp, TEST_ADMIN_TOKEN, testEngineEnv, type EngineTestApp } from '../helpers/engine-app.js';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack.js';
import { startTttTestApp, TEST_SECRET, type TttTestApp } from '../helpers/ttt-app.js';

const ENGINE_METRICS_TOKEN = 'test-only-engine-metrics-token-0000000000';
const TTT_METRICS_TOKEN = 'test-only-ttt-metrics-token-00000000000000';

/** The value of one series in a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string | undefined> = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1], p[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics on the Business Engine', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { ENGINE_METRICS_TOKEN } });
  });
  afterAll(async () => {
    await be.close();
  });
  const scrape = (token?: string) =>
    be.client.GET('/metrics', { parseAs: 'text', ...(token === undefined ? {} : { headers: be.bearer(token) }) });

  it('answers the metrics token and the admin token with the Prometheus text format', async () => {
    for (const token of [ENGINE_METRICS_TOKEN, TEST_ADMIN_TOKEN]) {
      const { data, error, response } = await scrape(token);
      expect(error).toBeUndefined();
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(data).toContain('# TYPE http_requests_total counter');
      expect(sample(data!, 'circuit_breaker_state', { upstream: 'tttranscribe', service: 'business-engine' })).toBe(0);
      expect(data).toContain('process_resident_memory_bytes');
    }
  });

  it('refuses anything else with a catalog code, and counts the refusals by code and route', async () => {
    const missing = await scrape();
    expect(missing.error).toMatchObject({ code: 'missing_authorization', details: { expected: 'metrics_token' } });
    const wrong = await scrape('x'.repeat(40));
    expect(wrong.error).toMatchObject({
      code: 'invalid_token',
      details: { credential: 'metrics_token', reason: 'metrics_token_mismatch' },
    });
    const user = await scrape(await be.userJwt());
    expect(user.error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'user_jwt', expected: 'metrics_token' },
    });
    const { data } = await scrape(ENGINE_METRICS_TOKEN);
    expect(sample(data!, 'auth_failures_total', { code: 'missing_authorization', route: 'getMetrics' })).toBe(1);
    expect(sample(data!, 'auth_failures_total', { code: 'credential_type_mismatch', route: 'getMetrics' })).toBe(1);
    expect(sample(data!, 'http_requests_total', { route: 'getMetrics', method: 'GET', status: '401' })).toBe(3);
  });

  it('counts requests and credits charged', async () => {
    const user = be.bearer(await be.userJwt({ sub: 'metrics-user' }));
    await be.client.GET('/v1/credits/balance', { headers: user });
    await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'metrics-vend-1' }, headers: user });
    await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'metrics-vend-1' }, headers: user });
    const { data } = await scrape(ENGINE_METRICS_TOKEN);
    expect(sample(data!, 'http_requests_total', { route: 'getCreditBalance', status: '200' })).toBe(1);
    expect(sample(data!, 'http_requests_total', { route: 'vendToken', status: '200' })).toBe(2);
    // A replayed vend charges nothing, so it counts nothing.
    expect(sample(data!, 'credits_charged_total')).toBe(1);
  });
});

describe("the engine's metrics when TTTranscribe rejects its credentials", () => {
  let stack: EngineStack;
  beforeAll(async () => {
    stack = await startEngineStack({ tttSecret: generateSharedSecret(), engineEnv: { ENGINE_METRICS_TOKEN } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it("shows the upstream refusal, the refund by reason, and TTTranscribe's side of it in its own logs", async () => {
    const { be, ttt } = stack;
    const user = be.bearer(await be.userJwt({ sub: 'metrics-mismatch' }));
    const vended = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'metrics-mismatch-1' },
      headers: user,
    });
    const submitted = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: { ...be.bearer(vended.data!.token), 'X-Request-ID': 'req_metrics_mismatch_01' },
    });
    expect(submitted.error).toMatchObject({
      code: 'upstream_auth_failure',
      details: { upstreamCode: 'engine_auth_key_mismatch', creditRefunded: true },
    });
    const { data } = await be.client.GET('/metrics', { parseAs: 'text', headers: be.bearer(ENGINE_METRICS_TOKEN) });
    expect(
      sample(data!, 'upstream_request_duration_seconds_count', {
        operation: 'submit',
        outcome: 'credentials_rejected',
      }),
    ).toBe(1);
    expect(sample(data!, 'credits_charged_total')).toBe(1);
    expect(sample(data!, 'credits_refunded_total', { reason: 'upstream_auth_failure' })).toBe(1);
    expect(sample(data!, 'http_requests_total', { route: 'submitTranscription', status: '502' })).toBe(1);
    // The engine logs the hop's failure at error; TTTranscribe logs its refusal at warn, under the same request id.
    expect(be.logs.find((l) => l['requestId'] === 'req_metrics_mismatch_01' && l['level'] === 50)).toMatchObject({
      code: 'upstream_auth_failure',
    });
    expect(ttt.logs.find((l) => l['requestId'] === 'req_metrics_mismatch_01' && l['level'] === 40)).toMatchObject({
      code: 'engine_auth_key_mismatch',
      route: 'createTranscriptionJob',
      status: 401,
    });
  });
});

describe('GET /metrics on TTTranscribe', () => {
  let ttt: TttTestApp;
  let disabled: TttTestApp;
  beforeAll(async () => {
    ttt = await startTttTestApp({ config: { metricsToken: TTT_METRICS_TOKEN } });
    disabled = await startTttTestApp();
  });
  afterAll(async () => {
    await ttt.close();
    await disabled.close();
  });

  it('answers 404 not_found saying how to enable it when TTT_METRICS_TOKEN is not set', async () => {
    const { error, response } = await disabled.client.GET('/metrics', {
      parseAs: 'text',
      headers: { Authorization: `Bearer ${TTT_METRICS_TOKEN}` },
    });
    expect(response.status).toBe(404);
    expect(error).toMatchObject({
      code: 'not_found',
      detail: expect.stringContaining('TTT_METRICS_TOKEN'),
      details: { reason: 'metrics_disabled' },
    });
  });

  it('counts jobs by state and X-Engine-Auth refusals by code', async () => {
    const token = await ttt.issuer.mint({ sub: 'metrics-ttt-user' });
    const accepted = await ttt.client.POST('/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(accepted.response.status).toBe(202);
    const unsigned = ttt.clientWith({ keys: null });
    await unsigned.GET('/status/{jobId}', { params: { path: { jobId: accepted.data!.jobId } } });
    const { data, response } = await ttt.client.GET('/metrics', {
      parseAs: 'text',
      headers: { Authorization: `Bearer ${TTT_METRICS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(data!, 'jobs_by_state', { state: 'queued', service: 'tttranscribe' })).toBe(1);
    expect(sample(data!, 'jobs_by_state', { state: 'completed' })).toBe(0);
    expect(sample(data!, 'auth_failures_total', { code: 'missing_engine_auth_header', route: 'getJobStatus' })).toBe(1);
    expect(sample(data!, 'http_requests_total', { route: 'createTranscriptionJob', status: '202' })).toBe(1);
    await ttt.service.worker.drain();
    const after = await ttt.client.GET('/metrics', {
      parseAs: 'text',
      headers: { Authorization: `Bearer ${TTT_METRICS_TOKEN}` },
    });
    expect(sample(after.data!, 'jobs_by_state', { state: 'completed' })).toBe(1);
  });

  it('refuses other credentials; the shared secret sent as a bearer is logged as a leak with its key id only', async () => {
    const wrong = await ttt.client.GET('/metrics', {
      parseAs: 'text',
      headers: { Authorization: `Bearer ${'y'.repeat(40)}` },
    });
    expect(wrong.error).toMatchObject({ code: 'invalid_token', details: { credential: 'metrics_token' } });
    const serviceToken = await ttt.client.GET('/metrics', {
      parseAs: 'text',
      headers: { Authorization: `Bearer ${await ttt.issuer.mint()}` },
    });
    expect(serviceToken.error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'service_token', expected: 'metrics_token' },
    });
    const leaked = await ttt.client.GET('/metrics', {
      parseAs: 'text',
      headers: { Authorization: `Bearer ${TEST_SECRET}` },
    });
    expect(leaked.error).toMatchObject({ code: 'credential_type_mismatch', details: { received: 'shared_secret' } });
    const keyId = parseSharedSecret('T', TEST_SECRET).keyId;
    expect(ttt.logs.find((l) => l['keyId'] === keyId)).toMatchObject({ level: 40, ours: true });
    expect(JSON.stringify(ttt.logs)).not.toContain(TEST_SECRET);
  });
});

describe('metrics token configuration', () => {
  const problemsOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('ENGINE_METRICS_TOKEN is optional, at least 32 characters, and never the admin token', async () => {
    expect(loadEngineConfig(await testEngineEnv()).metricsToken).toBeUndefined();
    expect(loadEngineConfig(await testEngineEnv({ ENGINE_METRICS_TOKEN })).metricsToken).toBe(ENGINE_METRICS_TOKEN);
    const env = await testEngineEnv({ ENGINE_METRICS_TOKEN: 'short' });
    expect(problemsOf(() => loadEngineConfig(env))).toEqual([
      { variable: 'ENGINE_METRICS_TOKEN', message: 'must be at least 32 characters' },
    ]);
    const same = await testEngineEnv({ ENGINE_METRICS_TOKEN: TEST_ADMIN_TOKEN });
    expect(problemsOf(() => loadEngineConfig(same))).toEqual([
      { variable: 'ENGINE_METRICS_TOKEN', message: expect.stringContaining('must differ from ADMIN_TOKEN') },
    ]);
    expect(JSON.stringify(problemsOf(() => loadEngineConfig(same)))).not.toContain(TEST_ADMIN_TOKEN);
  });

  it('TTT_METRICS_TOKEN is optional and at least 32 characters', () => {
    expect(loadTttConfig({ TTT_SHARED_SECRET: TEST_SECRET }).metricsToken).toBeUndefined();
    expect(loadTttConfig({ TTT_SHARED_SECRET: TEST_SECRET, TTT_METRICS_TOKEN }).metricsToken).toBe(TTT_METRICS_TOKEN);
    expect(problemsOf(() => loadTttConfig({ TTT_SHARED_SECRET: TEST_SECRET, TTT_METRICS_TOKEN: 'short' }))).toEqual([
      { variable: 'TTT_METRICS_TOKEN', message: 'must be at least 32 characters' },
    ]);
  });
});
