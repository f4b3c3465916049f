import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../../../../server/business-engine/config.js';
import { engineRateLimits } from '../../../../server/business-engine/http/engine-rate-limits.js';
import {
  startEngineTestApp,
  TEST_ADMIN_TOKEN,
  testEngineEnv,
  type EngineTestApp,
} from '../../../helpers/engine-app.js';
import { expectRateLimitedResponses, specOperations } from '../../../helpers/rate-limit-spec.js';

const { operations, authenticated } = specOperations('business-engine');

// Issue 18 (11, 12): every authenticated operation has a limit, stated in the spec and answered in headers.
describe('Business Engine rate limits: the spec states them', () => {
  it('gives every authenticated operation (and the integration check) an x-rate-limit, a 429 and the RateLimit headers', () => {
    const limited = [...authenticated.map((op) => op.operationId), 'getTttIntegrationHealth'];
    expect(limited).toHaveLength(12);
    for (const op of operations.filter((o) => limited.includes(o.operationId))) {
      expect(op['x-rate-limit'], op.operationId).toMatchObject({
        policy: expect.any(String),
        limit: expect.any(Number),
        windowSec: 60,
      });
      expectRateLimitedResponses(op);
    }
  });

  it('states the limits the engine applies by default, and the variable that changes each', async () => {
    const defaults = engineRateLimits(
      loadEngineConfig(
        await testEngineEnv(
          Object.fromEntries(
            Object.keys(await testEngineEnv())
              .filter((k) => k.startsWith('RATE_LIMIT_'))
              .map((k) => [k, undefined]),
          ),
        ),
      ).rateLimits,
    );
    for (const op of operations.filter((o) => o['x-rate-limit'])) {
      const doc = op['x-rate-limit']!;
      expect(defaults.policy(doc.policy), op.operationId).toEqual({ limit: doc.limit, windowSec: doc.windowSec });
      const configured = engineRateLimits(loadEngineConfig(await testEngineEnv({ [doc.setting]: '7' })).rateLimits);
      expect(configured.policy(doc.policy).limit, `${op.operationId} ${doc.setting}`).toBe(7);
    }
  });
});

describe('Business Engine rate limits: the running engine applies them', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { RATE_LIMIT_READ_PER_MIN: '2', RATE_LIMIT_ADMIN_PER_MIN: '5' } });
  });
  afterAll(async () => {
    await be.close();
  });

  it("answers the RateLimit headers of the operation's policy on success", async () => {
    const user = be.bearer(await be.userJwt({ sub: 'rl-headers' }));
    const balance = await be.client.GET('/v1/credits/balance', { headers: user });
    expect(balance.response.headers.get('RateLimit-Policy')).toBe('"read";q=2;w=60');
    expect(balance.response.headers.get('RateLimit')).toMatch(/^"read";r=1;t=\d+$/);
    const config = await be.client.GET('/admin/config', { headers: be.bearer(TEST_ADMIN_TOKEN) });
    expect(config.response.headers.get('RateLimit-Policy')).toBe('"admin";q=5;w=60');
    const tokens = await be.client.GET('/v1/integrations/tokens', { headers: user });
    expect(tokens.response.headers.get('RateLimit-Policy')).toBe('"integrations";q=1000;w=60');
  });

  it('refuses the caller over its limit with 429 rate_limited and Retry-After, and no one else', async () => {
    const user = be.bearer(await be.userJwt({ sub: 'rl-over' }));
    await be.client.GET('/v1/credits/balance', { headers: user });
    await be.client.GET('/v1/credits/ledger', { headers: user });
    const refused = await be.client.GET('/v1/credits/balance', { headers: user });
    expect(refused.response.status).toBe(429);
    expect(refused.error).toMatchObject({
      code: 'rate_limited',
      responsibility: 'caller',
      details: { limit: 2, windowSec: 60 },
    });
    expect(Number(refused.response.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(refused.response.headers.get('RateLimit')).toMatch(/^"read";r=0;t=\d+$/);
    const other = await be.client.GET('/v1/credits/balance', {
      headers: be.bearer(await be.userJwt({ sub: 'rl-other' })),
    });
    expect(other.response.status).toBe(200);
  });

  it("counts an integration token apart from its user, so a leaked token cannot use up the user's allowance", async () => {
    const jwt = be.bearer(await be.userJwt({ sub: 'rl-integration' }));
    const created = await be.client.POST('/v1/integrations/tokens', {
      body: { description: 'rl', scopes: ['credits:read'] },
      headers: jwt,
    });
    const integration = be.bearer(created.data!.token);
    await be.client.GET('/v1/credits/balance', { headers: integration });
    await be.client.GET('/v1/credits/balance', { headers: integration });
    expect((await be.client.GET('/v1/credits/balance', { headers: integration })).response.status).toBe(429);
    expect((await be.client.GET('/v1/credits/balance', { headers: jwt })).response.status).toBe(200);
  });

  it('does not count a request whose credential is refused', async () => {
    const refused = await be.client.GET('/v1/credits/balance', { headers: { Authorization: 'Bearer not-a-jwt' } });
    expect(refused.response.status).toBe(401);
    expect(refused.response.headers.get('RateLimit')).toBeNull();
  });
});

describe('Business Engine rate limits behind a load balancer (ENGINE_TRUST_PROXY)', () => {
  /** Two integration checks "from" two clients, as a load balancer on loopback forwards them: their RateLimit. */
  async function remainingFor(env: Record<string, string>) {
    const be = await startEngineTestApp({ env: { RATE_LIMIT_HEALTH_PER_MIN: '5', ...env } });
    try {
      const check = async (client: string) =>
        (
          await be.client.GET('/health/ttt-integration', { headers: { 'X-Forwarded-For': client } })
        ).response.headers.get('RateLimit');
      return [await check('203.0.113.7'), await check('198.51.100.9')];
    } finally {
      await be.close();
    }
  }

  it('counts each client address apart when the proxy on loopback is trusted', async () => {
    expect(await remainingFor({ ENGINE_TRUST_PROXY: 'loopback' })).toEqual([
      expect.stringMatching(/^"health";r=4;t=\d+$/),
      expect.stringMatching(/^"health";r=4;t=\d+$/),
    ]);
  });

  it('by default believes no X-Forwarded-For: a caller cannot pick its own key', async () => {
    expect(await remainingFor({})).toEqual([
      expect.stringMatching(/^"health";r=4;t=\d+$/),
      expect.stringMatching(/^"health";r=3;t=\d+$/),
    ]);
  });
});
