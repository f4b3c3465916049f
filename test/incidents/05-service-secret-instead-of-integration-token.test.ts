/**
 * Incident 05 (docs/incidents.md, "05."): a service sent its
 * "service secret" (an arbitrary string from SUBSTRATE_SERVICE_SECRET) as the bearer token; the API tried it as
 * a JWT, then as an integration token, and answered a bare 401, five times, until a circuit breaker opened.
 *
 * Replayed against the engine's user endpoints: each wrong kind of bearer gets a 401 whose code, detail and
 * guidance say what the value is NOT and what to send instead; a shared secret sent as a bearer is logged as a
 * leak by key id, never by value; and a real integration token, the fix of the incident, is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluctClient } from '../../client/sdk/index.js';
import { generateIntegrationToken } from '../../server/business-engine/integrations/integration-token-format.js';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { startEngineTestApp, type EngineTestApp } from '../helpers/engine-app.js';
import { startTttTestApp } from '../helpers/ttt-app.js';

const SECRET = generateSharedSecret();
const KEY_ID = parseSharedSecret('TTT_SHARED_SECRET', SECRET).keyId;

describe('incident 05: a service secret sent where a token belongs', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { TTT_SHARED_SECRET: SECRET } });
  });
  afterAll(async () => {
    await be.close();
  });
  const balance = (authorization: string) =>
    be.client.GET('/v1/credits/balance', {
      headers: { Authorization: authorization, 'User-Agent': 'platform-api/1.0' },
    });

  it('"Bearer a service secret" (spaces) is 401 malformed_authorization: not a single bearer value', async () => {
    const { error, response } = await balance('Bearer a service secret');
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'malformed_authorization',
      details: { reason: 'token_missing_or_has_spaces', expected: 'user_jwt' },
    });
  });

  it('an arbitrary string is 401 invalid_token (malformed): neither a JWT nor an integration token, and what to send instead', async () => {
    const { error, response } = await balance('Bearer prod-substrate-service-secret-Z8qKsL2wDn9rFy6a');
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'invalid_token',
      detail: expect.stringMatching(
        /neither a JWT nor an integration token \(yit_…\).*POST \/v1\/integrations\/tokens/,
      ),
      details: { credential: 'user_jwt', reason: 'malformed' },
    });
  });

  it('a yit_-looking string is 401 integration_token_malformed naming the failed check, without a database look-up', async () => {
    const truncated = generateIntegrationToken().slice(0, 30);
    const wrongChecksum = `${generateIntegrationToken().slice(0, -6)}000000`;
    for (const [value, reason] of [
      [truncated, 'wrong_length'],
      [wrongChecksum, 'checksum_mismatch'],
    ] as const) {
      const { error, response } = await balance(`Bearer ${value}`);
      expect(response.status, reason).toBe(401);
      expect(error, reason).toMatchObject({
        code: 'integration_token_malformed',
        guidance: expect.stringContaining('This is not an integration token'),
        details: { credential: 'integration_token', reason },
      });
    }
    const neverIssued = await balance(`Bearer ${generateIntegrationToken()}`);
    expect(neverIssued.error).toMatchObject({
      code: 'integration_token_unknown',
      details: { credential: 'integration_token' },
    });
  });

  it('a tttsk_ shared secret is 401 credential_type_mismatch, logged as a leak by key id and never by value', async () => {
    const { error, response } = await balance(`Bearer ${SECRET}`);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      detail: 'The bearer value is a TTTranscribe shared secret, not a user JWT.',
      guidance: expect.stringContaining('must be considered leaked and rotated'),
      details: { received: 'shared_secret', expected: 'user_jwt' },
    });
    const leak = be.logs.find(
      (l) =>
        l['requestId'] === error?.requestId && String(l['msg']).includes('shared secret was sent as a bearer token'),
    );
    expect(leak).toMatchObject({ level: 40, keyId: KEY_ID, ours: true });
    const everything = JSON.stringify(be.logs) + JSON.stringify(error);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(SECRET.slice('tttsk_'.length));
  });

  it('the fix of the incident: a real integration token is accepted, and only where integration tokens belong', async () => {
    const user = be.bearer(await be.userJwt({ sub: 'workspace-owner-1' }));
    const created = await be.client.POST('/v1/integrations/tokens', {
      body: { description: 'platform-api -> engine', scopes: ['credits:read'] },
      headers: user,
    });
    expect(created.response.status).toBe(201);
    const integration = `Bearer ${created.data!.token}`;
    expect((await balance(integration)).data).toMatchObject({ ok: true, userId: 'workspace-owner-1' });
    // An integration token cannot manage integration tokens: it is not a user JWT.
    const { error, response } = await be.client.GET('/v1/integrations/tokens', {
      headers: { Authorization: integration },
    });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'integration_token', expected: 'user_jwt' },
    });
    expect(JSON.stringify(be.logs)).not.toContain(created.data!.token);
  });

  it('the SDK never sends a shared secret that getUserToken hands it', async () => {
    const requests: string[] = [];
    const pluct = createPluctClient({
      baseUrl: be.baseUrl,
      getUserToken: async () => SECRET,
      fetch: async (request) => {
        requests.push(request.url);
        return fetch(request);
      },
    });
    const { error } = await pluct.balance();
    expect(error).toMatchObject({
      code: 'token_refresh_failed',
      detail: expect.stringContaining('TTTranscribe shared secret (tttsk_…), not a user JWT; it was not sent'),
    });
    expect(requests).toEqual([]);
  });
});

describe('incident 05: the same mistake one hop further, at TTTranscribe', () => {
  it('a tttsk_ secret as the service token is 401 invalid_token that names it a shared secret to rotate', async () => {
    const ttt = await startTttTestApp();
    try {
      const { error, response } = await ttt.client.POST('/transcribe', {
        body: { url: 'https://media.example.com/clip.mp4' },
        headers: { Authorization: `Bearer ${SECRET}` },
      });
      expect(response.status).toBe(401);
      expect(error).toMatchObject({
        code: 'invalid_token',
        detail: expect.stringContaining(
          'is a TTTranscribe shared secret, not a service token; the secret must be treated as leaked and rotated',
        ),
        details: { credential: 'service_token', received: 'shared_secret' },
      });
      expect(JSON.stringify(ttt.logs)).not.toContain(SECRET);
    } finally {
      await ttt.close();
    }
  });
});
