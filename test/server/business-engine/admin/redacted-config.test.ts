import { afterEach, describe, expect, it } from 'vitest';
import { redactedConfig } from '../../../../server/business-engine/admin/redacted-config.js';
import { loadEngineConfig, secretId } from '../../../../server/business-engine/config.js';
import {
  startEngineTestApp,
  TEST_ADMIN_TOKEN,
  testEngineEnv,
  type EngineTestApp,
} from '../../../helpers/engine-app.js';

/** TEST-ONLY metrics token (40 characters). */
const METRICS_TOKEN = 'test-only-engine-metrics-token-000000000';

const apps: EngineTestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe('redactedConfig: ENGINE_METRICS_TOKEN', () => {
  it('is listed as missing with no key id when unset', async () => {
    const config = loadEngineConfig(await testEngineEnv());
    expect(redactedConfig(config).secrets).toContainEqual({
      name: 'ENGINE_METRICS_TOKEN',
      status: 'missing',
      keyId: null,
    });
  });

  it('is listed as configured with its HMAC-derived id (the one the start-up log shows), never its value', async () => {
    const config = loadEngineConfig(await testEngineEnv({ ENGINE_METRICS_TOKEN: METRICS_TOKEN }));
    const body = redactedConfig(config);
    expect(body.secrets).toContainEqual({
      name: 'ENGINE_METRICS_TOKEN',
      status: 'configured',
      keyId: secretId('ENGINE_METRICS_TOKEN', METRICS_TOKEN),
    });
    expect(secretId('ENGINE_METRICS_TOKEN', METRICS_TOKEN)).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(body)).not.toContain(METRICS_TOKEN);
  });
});

describe('GET /admin/config', () => {
  it('reports ENGINE_METRICS_TOKEN redacted like the other secrets, and the id tells two tokens apart', async () => {
    const be = await startEngineTestApp({ env: { ENGINE_METRICS_TOKEN: METRICS_TOKEN } });
    apps.push(be);
    const { data, response } = await be.client.GET('/admin/config', { headers: be.bearer(TEST_ADMIN_TOKEN) });
    expect(response.status).toBe(200);
    const entry = data?.secrets.find((s) => s.name === 'ENGINE_METRICS_TOKEN');
    expect(entry).toEqual({
      name: 'ENGINE_METRICS_TOKEN',
      status: 'configured',
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(entry?.keyId).not.toBe(data?.secrets.find((s) => s.name === 'ADMIN_TOKEN')?.keyId);
    expect(entry?.keyId).not.toBe(secretId('ENGINE_METRICS_TOKEN', `${METRICS_TOKEN}x`));
    expect(JSON.stringify(data)).not.toContain(METRICS_TOKEN);
  });
});
