import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components } from '../../../../generated/business-engine/schema.js';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { INTEGRATION_REPORT_TTL_MS } from '../../../../server/business-engine/health/cached-integration-check.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';
import { refusedBaseUrl, startFakeTtt, upstreamProblem, type FakeTtt } from '../../../helpers/engine-fake-ttt.js';

type IntegrationReport = components['schemas']['IntegrationReport'];

// Each check below needs a fresh report: step past the time one report answers for.
const report = async (be: EngineTestApp): Promise<{ status: number; body: IntegrationReport }> => {
  be.clock.ms += INTEGRATION_REPORT_TTL_MS;
  const { data, error, response } = await be.client.GET('/health/ttt-integration');
  return { status: response.status, body: (data ?? error) as unknown as IntegrationReport };
};
const byName = (r: IntegrationReport) => Object.fromEntries(r.checks.map((c) => [c.name, c]));

describe('GET /health/ttt-integration', () => {
  let be: EngineTestApp;
  let ttt: FakeTtt;
  let keyId: string;
  let secret: string;
  beforeAll(async () => {
    secret = generateSharedSecret();
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
    status: 200,
    body: {
      ok: true,
      version: 'v1',
      acceptedKeyIds: [keyId],
      toleranceSec: 300,
      replayWindowSec: 600,
      serverTime: serverTimeSec,
    },
  });

  it('passes every check and sends a signed probe', async () => {
    ttt.respond((req) =>
      req.target === '/.well-known/engine-auth'
        ? info(be.clock.ms / 1000)
        : { status: 200, body: { ok: true, valid: true, keyId, serverTime: be.clock.ms / 1000 } },
    );
    const { status, body } = await report(be);
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.checks.every((c) => c.ok && c.fix === null)).toBe(true);
    const probe = ttt.requests.filter((r) => r.target === '/test/validate-engine-auth').at(-1);
    expect(probe).toMatchObject({ method: 'POST', engineAuth: { ok: true, keyId } });
  });

  it("fails clock_skew when TTTranscribe's clock is far off, with the skew", async () => {
    ttt.respond((req) =>
      req.target === '/.well-known/engine-auth'
        ? info(be.clock.ms / 1000 + 200)
        : { status: 200, body: { ok: true, valid: true, keyId, serverTime: 0 } },
    );
    const { status, body } = await report(be);
    expect(status).toBe(503);
    expect(byName(body)['clock_skew']).toMatchObject({
      ok: false,
      detail: 'Clock skew is 200 s (tolerance 300 s).',
      fix: expect.stringContaining('NTP'),
      data: { skewSec: 200 },
    });
  });

  it('fails signed_probe with the upstream code and a fix', async () => {
    ttt.respond((req) =>
      req.target === '/.well-known/engine-auth'
        ? info(be.clock.ms / 1000)
        : upstreamProblem(
            401,
            'invalid_engine_auth_header',
            'The X-Engine-Auth signature does not match the request.',
            { reason: 'signature_mismatch' },
          ),
    );
    const { status, body } = await report(be);
    expect(status).toBe(503);
    expect(byName(body)['key_id_accepted']).toMatchObject({ ok: true });
    expect(byName(body)['signed_probe']).toMatchObject({
      ok: false,
      detail: 'TTTranscribe answered 401 invalid_engine_auth_header.',
      fix: expect.stringContaining('stringToSign'),
    });
  });

  it("fails service_token_verifies when the signer's tokens do not verify against the published JWKS", async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // Signs with a key whose public part is not the one published: what a SERVICE_TOKEN_PRIVATE_KEY mixing two keys did.
    const wrongKey = await startEngineTestApp({
      env: { TTT_BASE_URL: ttt.baseUrl, TTT_SHARED_SECRET: secret },
      deps: {
        decorateSigner: (sign) => (claims) => {
          const header = decodeProtectedHeader(sign(claims));
          const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
          const input = `${segment({ ...header, alg: 'ES256' })}.${segment({ ...claims, iss: 'business-engine', aud: 'tttranscribe' })}`;
          const signature = cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
          return `${input}.${signature.toString('base64url')}`;
        },
      },
    });
    try {
      ttt.respond((req) =>
        req.target === '/.well-known/engine-auth'
          ? info(wrongKey.clock.ms / 1000)
          : { status: 200, body: { ok: true, valid: true, keyId, serverTime: wrongKey.clock.ms / 1000 } },
      );
      const { status, body } = await report(wrongKey);
      expect(status).toBe(503);
      expect(body.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['service_token_verifies']);
      expect(byName(body)['service_token_verifies']).toMatchObject({
        detail: expect.stringContaining('does not verify'),
        fix: expect.stringContaining('SERVICE_TOKEN_PRIVATE_KEY'),
        data: { kid: wrongKey.config.serviceTokenKey.kid },
      });
    } finally {
      await wrongKey.close();
    }
  });

  it('answers 503 naming ttt_reachable when TTTranscribe does not answer, and skips the rest', async () => {
    const down = await startEngineTestApp({ env: { TTT_BASE_URL: await refusedBaseUrl() } });
    try {
      const { status, body } = await report(down);
      expect(status).toBe(503);
      expect(body.tttAcceptedKeyIds).toBeNull();
      expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
        ['shared_secret_configured', true],
        ['ttt_reachable', false],
        ['key_id_accepted', false],
        ['signed_probe', false],
        ['clock_skew', false],
        ['service_token_verifies', true],
      ]);
      expect(byName(body)['ttt_reachable']).toMatchObject({
        detail: expect.stringContaining('connection refused'),
        fix: expect.stringContaining('TTT_BASE_URL'),
        data: { reason: 'connection_refused' },
      });
      expect(byName(body)['key_id_accepted']?.detail).toContain('Not checked');
    } finally {
      await down.close();
    }
  });

  it('reaches TTTranscribe once for 100 concurrent calls, and again only once the report is 5 s old', async () => {
    ttt.respond((req) =>
      req.target === '/.well-known/engine-auth'
        ? info(be.clock.ms / 1000)
        : { status: 200, body: { ok: true, valid: true, keyId, serverTime: be.clock.ms / 1000 } },
    );
    be.clock.ms += INTEGRATION_REPORT_TTL_MS;
    const upstreamCalls = () => ttt.requests.filter((r) => r.target === '/.well-known/engine-auth').length;
    const before = upstreamCalls();
    const answers = await Promise.all(Array.from({ length: 100 }, () => be.client.GET('/health/ttt-integration')));
    expect(answers.map((a) => a.response.status)).toEqual(Array(100).fill(200));
    expect(upstreamCalls() - before).toBe(1);
    be.clock.ms += INTEGRATION_REPORT_TTL_MS - 1;
    await be.client.GET('/health/ttt-integration');
    expect(upstreamCalls() - before).toBe(1);
    be.clock.ms += 1;
    await be.client.GET('/health/ttt-integration');
    expect(upstreamCalls() - before).toBe(2);
  });

  it('is rate-limited per client address (RATE_LIMIT_HEALTH_PER_MIN) with the RateLimit headers', async () => {
    const limited = await startEngineTestApp({
      env: { TTT_BASE_URL: await refusedBaseUrl(), RATE_LIMIT_HEALTH_PER_MIN: '2' },
    });
    try {
      const first = await limited.client.GET('/health/ttt-integration');
      expect(first.response.headers.get('RateLimit-Policy')).toBe('"health";q=2;w=60');
      expect(first.response.headers.get('RateLimit')).toMatch(/^"health";r=1;t=\d+$/);
      await limited.client.GET('/health/ttt-integration');
      const third = await limited.client.GET('/health/ttt-integration');
      expect(third.response.status).toBe(429);
      expect(third.error).toMatchObject({ code: 'rate_limited', details: { limit: 2, windowSec: 60 } });
      expect(Number(third.response.headers.get('Retry-After'))).toBeGreaterThan(0);
      expect(Number(third.response.headers.get('Retry-After'))).toBeLessThanOrEqual(60);
      expect(third.response.headers.get('RateLimit')).toBe(
        `"health";r=0;t=${third.response.headers.get('Retry-After')}`,
      );
    } finally {
      await limited.close();
    }
  });
});
