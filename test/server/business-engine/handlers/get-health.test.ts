import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineTestApp, TEST_ADMIN_TOKEN, type EngineTestApp } from '../../../helpers/engine-app.js';
import { TEST_USER_JWT_SECRET } from '../../../helpers/user-tokens.js';

let be: EngineTestApp;
beforeAll(async () => {
  be = await startEngineTestApp({ env: { INSTANCE_ID: 'engine-a' } });
});
afterAll(async () => {
  await be.close();
});

describe('GET /health (engine): the replica names itself and its public key ids', () => {
  it('reports INSTANCE_ID in the body and the X-Instance-Id header', async () => {
    const { data, response } = await be.client.GET('/health');
    expect(data?.instanceId).toBe('engine-a');
    expect(response.headers.get('x-instance-id')).toBe('engine-a');
    // Every answer names the replica, a problem answer too.
    const refused = await fetch(`${be.baseUrl}/v1/credits/balance`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-instance-id')).toBe('engine-a');
  });

  it('reports the same key ids as the JWKS, the admin config and the X-Engine-Auth keys, and never a secret', async () => {
    const { data } = await be.client.GET('/health');
    const [jwks, config] = await Promise.all([
      be.client.GET('/.well-known/jwks.json'),
      be.client.GET('/admin/config', { headers: be.bearer(TEST_ADMIN_TOKEN) }),
    ]);
    const secretKeyId = (name: string) => config.data?.secrets.find((s) => s.name === name)?.keyId;
    expect(data?.keyIds).toEqual({
      userJwt: secretKeyId('USER_JWT_SECRET'),
      serviceToken: jwks.data?.keys[0]?.kid,
      tttSharedSecret: be.config.tttKeys.map((k) => k.keyId),
    });
    expect(data?.keyIds?.userJwt).toMatch(/^[0-9a-f]{16}$/);
    const text = JSON.stringify(data);
    expect(text).not.toContain(TEST_USER_JWT_SECRET);
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
  });
});
