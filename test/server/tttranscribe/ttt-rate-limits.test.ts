import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/tttranscribe/config.js';
import { tttRateLimits } from '../../../server/tttranscribe/ttt-rate-limits.js';
import { expectRateLimitedResponses, specOperations } from '../../helpers/rate-limit-spec.js';
import { startTttTestApp, TEST_KEY_NEXT, TEST_KEY, TEST_SECRET, type TttTestApp } from '../../helpers/ttt-app.js';

const { authenticated } = specOperations('tttranscribe');

// Issue 18 (11, 12): TTTranscribe limits every authenticated operation per X-Engine-Auth key id (metrics apart).
describe('TTTranscribe rate limits', () => {
  it('states a limit, a 429 and the RateLimit headers on every authenticated operation, matching the defaults and variables', () => {
    expect(authenticated.map((op) => op.operationId).sort()).toEqual([
      'createTranscriptionJob',
      'getJobByIdempotencyKey',
      'getJobStatus',
      'getMetrics',
      'validateEngineAuth',
    ]);
    const defaults = tttRateLimits(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET }).rateLimits);
    for (const op of authenticated) {
      const doc = op['x-rate-limit']!;
      expectRateLimitedResponses(op);
      expect(defaults.policy(doc.policy), op.operationId).toEqual({ limit: doc.limit, windowSec: doc.windowSec });
      expect(
        tttRateLimits(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET, [doc.setting]: '9' }).rateLimits).policy(doc.policy)
          .limit,
      ).toBe(9);
    }
  });

  describe('the running service', () => {
    let ttt: TttTestApp;
    beforeAll(async () => {
      ttt = await startTttTestApp({
        keys: [TEST_KEY, TEST_KEY_NEXT],
        config: { rateLimits: { enginePerMin: 2, metricsPerMin: 60 } },
      });
    });
    afterAll(async () => {
      await ttt.close();
    });
    const status = (keys = [TEST_KEY]) =>
      ttt.clientWith({ keys }).GET('/status/{jobId}', { params: { path: { jobId: 'job_DOESNOTEXIST0000000000000' } } });

    it('counts per engine key id, with the RateLimit headers, and answers 429 rate_limited over the limit', async () => {
      const first = await status();
      expect(first.response.status).toBe(404);
      expect(first.response.headers.get('RateLimit-Policy')).toBe('"engine";q=2;w=60');
      expect(first.response.headers.get('RateLimit')).toMatch(/^"engine";r=1;t=\d+$/);
      await status();
      const refused = await status();
      expect(refused.response.status).toBe(429);
      expect(refused.error).toMatchObject({ code: 'rate_limited', details: { limit: 2, windowSec: 60 } });
      expect(Number(refused.response.headers.get('Retry-After'))).toBeGreaterThan(0);
      expect((await status([TEST_KEY_NEXT])).response.status).toBe(404);
    });
  });
});
