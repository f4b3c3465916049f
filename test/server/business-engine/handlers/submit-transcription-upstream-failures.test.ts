import { describe, expect, it } from 'vitest';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';
import { refusedBaseUrl, startEngineWithFakeTtt, upstreamProblem } from '../../../helpers/engine-fake-ttt.js';

const ACCEPTED = (jobId: string) => ({
  status: 202,
  body: { ok: true, jobId, status: 'queued', submittedAt: new Date(ENGINE_T0_MS).toISOString() },
});
const CLIP = { url: 'https://media.example.com/clip.mp4', language: 'en' };

async function ledgerOf(be: EngineTestApp, sub: string) {
  const { data } = await be.client.GET('/v1/credits/ledger', { headers: be.bearer(await be.userJwt({ sub })) });
  return data!.entries;
}

describe('POST /ttt/transcribe when TTTranscribe is slow or down', () => {
  it('answers upstream_timeout (504) when TTTranscribe never answers, and leaves the submission pending (no refund yet)', async () => {
    const { be, ttt, vend, close } = await startEngineWithFakeTtt({ UPSTREAM_TIMEOUT_MS: '300' });
    try {
      ttt.respond(() => 'hang');
      const { tokenId, token } = await vend('slow-user');
      const { error, response } = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(token) });
      expect(response.status).toBe(504);
      // The request may still land at TTTranscribe: the credit is not refunded now; a resubmission or the sweep
      // settles the token (see submit-transcription-ambiguous.test.ts).
      expect(error).toMatchObject({
        code: 'upstream_timeout',
        details: { upstream: 'tttranscribe', timeoutMs: 300, creditRefunded: false, submissionPending: true },
      });
      expect((await ledgerOf(be, 'slow-user')).filter((e) => e.kind === 'refund')).toEqual([]);
      expect((await be.engine.store.tokens.get(tokenId))?.state).toBe('submitting');
    } finally {
      await close();
    }
  });

  it('answers upstream_unavailable (503, Retry-After) when the connection is refused, and refunds', async () => {
    const be = await startEngineTestApp({ env: { TTT_BASE_URL: await refusedBaseUrl() } });
    try {
      const { data } = await be.client.POST('/v1/vend-token', {
        body: { clientRequestId: 'down-1' },
        headers: be.bearer(await be.userJwt({ sub: 'down-user' })),
      });
      const { error, response } = await be.client.POST('/ttt/transcribe', {
        body: CLIP,
        headers: be.bearer(data!.token),
      });
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(error).toMatchObject({
        code: 'upstream_unavailable',
        details: { upstream: 'tttranscribe', reason: 'connection_refused', creditRefunded: true },
      });
      expect((await ledgerOf(be, 'down-user'))[0]).toMatchObject({ kind: 'refund', reason: 'upstream_unavailable' });
    } finally {
      await be.close();
    }
  });

  it('opens the circuit after repeated failures and then answers upstream_unavailable without calling TTTranscribe', async () => {
    const { be, ttt, vend, close } = await startEngineWithFakeTtt();
    try {
      ttt.respond(() => upstreamProblem(500, 'internal_error', 'boom'));
      for (let i = 0; i < 3; i++) {
        const r = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer((await vend()).token) });
        expect(r.error?.code).toBe('upstream_error');
      }
      expect(be.engine.upstream.circuitState).toBe('open');
      const calls = ttt.requests.length;
      const sent = be.engine.upstream.sent;
      const { error, response } = await be.client.POST('/ttt/transcribe', {
        body: CLIP,
        headers: be.bearer((await vend('circuit-user')).token),
      });
      expect(response.status).toBe(503);
      expect(error).toMatchObject({
        code: 'upstream_unavailable',
        details: { reason: 'circuit_open', creditRefunded: true },
      });
      expect(Number(response.headers.get('retry-after'))).toBe(error!.details['retryAfterSec']);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(30);
      // Answered at once: TTTranscribe was not called.
      expect(ttt.requests.length).toBe(calls);
      expect(be.engine.upstream.sent).toBe(sent);
      expect((await ledgerOf(be, 'circuit-user'))[0]).toMatchObject({ kind: 'refund', reason: 'upstream_unavailable' });
      // The refunded token is revoked: a second try with it is refused for what it is, and refunds nothing twice.
      const refundedToken = (await vend('circuit-user-2')).token;
      await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(refundedToken) });
      const again = await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer(refundedToken) });
      expect(again.error?.code).toBe('service_token_revoked');
      expect((await ledgerOf(be, 'circuit-user-2')).filter((e) => e.kind === 'refund')).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('rate-limits submissions per user with rate_limited and Retry-After', async () => {
    const { be, ttt, vend, close } = await startEngineWithFakeTtt({ RATE_LIMIT_TRANSCRIBE_PER_MIN: '1' });
    try {
      ttt.respond(() => ACCEPTED('job_RATELIMIT0000001'));
      expect(
        (await be.client.POST('/ttt/transcribe', { body: CLIP, headers: be.bearer((await vend('rl-user')).token) }))
          .response.status,
      ).toBe(202);
      const { error, response } = await be.client.POST('/ttt/transcribe', {
        body: CLIP,
        headers: be.bearer((await vend('rl-user')).token),
      });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(error).toMatchObject({ code: 'rate_limited', details: { limit: 1, windowSec: 60 } });
    } finally {
      await close();
    }
  });
});
