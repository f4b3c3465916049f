import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components } from '../../../../generated/business-engine/schema.js';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';
import { refusedBaseUrl, startFakeTtt, upstreamProblem, type FakeTtt } from '../../../helpers/engine-fake-ttt.js';

type IntegrationReport = components['schemas']['IntegrationReport'];

const report = async (be: EngineTestApp): Promise<{ status: number; body: IntegrationReport }> => {
  const { data, error, response } = await be.client.GET('/health/ttt-integration');
  return { status: response.status, body: (data ?? error) as unknown as IntegrationReport };
};
const byName = (r: IntegrationReport) => Object.fromEntries(r.checks.map((c) => [c.name, c]));

describe('GET /health/ttt-integration', () => {
  let be: EngineTestApp;
  let ttt: FakeTtt;
  let keyId: string;
  beforeAll(async () => {
    const secret = generateSharedSecret();
    const clock = { ms: ENGINE_T0_MS };
    keyId = parseSharedSecret('TTT_SHARED_SECRET', secret).keyId;
    ttt = await startFakeTtt({ keys: [parseSharedSecret('TTT_SHARED_SECRET', secret)], now: () => clock.ms });
    be = await startEngineTestApp({ clock, env: { TTT_SHARED_SECRET: secret, TTT_BASE_URL: ttt.baseUrl } });
  });
  afterAll(async () => {
    await be.close();
    await ttt.close();
  });

  const info = (serverTimeSec: number) => ({
    status: 200, body: { ok: true, version: 'v1', acceptedKeyIds: [keyId], toleranceSec: 300, replayWindowSec: 600, serverTime: serverTimeSec },
  });

  it('passes every check and sends a signed probe', async () => {
    ttt.respond((req) => (req.target === '/.well-known/engine-auth' ? info(be.clock.ms / 1000) : { status: 200, body: { ok: true, valid: true, keyId, serverTime: be.clock.ms / 1000 } }));
    const { status, body } = await report(be);
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.checks.every((c) => c.ok && c.fix === null)).toBe(true);
    const probe = ttt.requests.filter((r) => r.target === '/test/validate-engine-auth').at(-1);
    expect(probe).toMatchObject({ method: 'POST', engineAuth: { ok: true, keyId } });
  });

  it('fails clock_skew when TTTranscribe\'s clock is far off, with the skew', async () => {
    ttt.respond((req) => (req.target === '/.well-known/engine-auth' ? info(be.clock.ms / 1000 + 200) : { status: 200, body: { ok: true, valid: true, keyId, serverTime: 0 } }));
    const { status, body } = await report(be);
    expect(status).toBe(503);
    expect(byName(body)['clock_skew']).toMatchObject({ ok: false, detail: 'Clock skew is 200 s (tolerance 300 s).', fix: expect.stringContaining('NTP'), data: { skewSec: 200 } });
  });

  it('fails signed_probe with the upstream code and a fix', async () => {
    ttt.respond((req) => (req.target === '/.well-known/engine-auth'
      ? info(be.clock.ms / 1000)
      : upstreamProblem(401, 'invalid_engine_auth_header', 'The X-Engine-Auth signature does not match the request.', { reason: 'signature_mismatch' })));
    const { status, body } = await report(be);
    expect(status).toBe(503);
    expect(byName(body)['key_id_accepted']).toMatchObject({ ok: true });
    expect(byName(body)['signed_probe']).toMatchObject({ ok: false, detail: 'TTTranscribe answered 401 invalid_engine_auth_header.', fix: expect.stringContaining('stringToSign') });
  });

  it('answers 503 naming ttt_reachable when TTTranscribe does not answer, and skips the rest', async () => {
    const down = await startEngineTestApp({ env: { TTT_BASE_URL: await refusedBaseUrl() } });
    try {
      const { status, body } = await report(down);
      expect(status).toBe(503);
      expect(body.tttAcceptedKeyIds).toBeNull();
      expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
        ['shared_secret_configured', true], ['ttt_reachable', false], ['key_id_accepted', false], ['signed_probe', false], ['clock_skew', false],
      ]);
      expect(byName(body)['ttt_reachable']).toMatchObject({ detail: expect.stringContaining('connection refused'), fix: expect.stringContaining('TTT_BASE_URL'), data: { reason: 'connection_refused' } });
      expect(byName(body)['key_id_accepted']?.detail).toContain('Not checked');
    } finally {
      await down.close();
    }
  });
});
