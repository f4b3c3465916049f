/**
 * Incident 04 (docs/incidents.md, "04."): apps saw ~971 401s in 6 hours; tokens expired
 * mid-session and were replaced only after a request had failed, and the logged error ("Request failed with
 * status code 401") said neither which endpoint, nor which token, nor when it had expired.
 *
 * Replayed with a simulated 30-minute session of 5-minute user JWTs against the real engine, the engine's clock
 * and the client's injected and moved together (no real waiting): the SDK, which refreshes ahead of expiry,
 * sees no 401 at all; a naive client does, and each 401 says by itself which token expired when.
 */
import { decodeJwt } from 'jose';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { createPluctClient } from '../../client/sdk/index.js';
import { startEngineTestApp, type EngineTestApp } from '../helpers/engine-app.js';

const TOKEN_LIFETIME_SEC = 300;
const SESSION_MS = 30 * 60_000;
const STEP_MS = 15_000;

describe('incident 04: a 30-minute session with 5-minute user tokens', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { SIGNUP_BONUS_CREDITS: '100' } });
  });
  afterAll(async () => {
    await be.close();
  });

  /** The app's auth backend: a fresh 5-minute token at the (shared) clock. */
  const mintFor = (sub: string) => () => be.userJwt({ sub, exp: Math.floor(be.clock.ms / 1000) + TOKEN_LIFETIME_SEC });

  it('the SDK refreshes ahead of expiry: zero 401s on the wire, one token every few minutes', async () => {
    const wire: Array<{ status: number; requestId: string | null }> = [];
    let minted = 0;
    const mint = mintFor('sdk-session-user');
    const pluct = createPluctClient({
      baseUrl: be.baseUrl,
      now: () => be.clock.ms,
      fetch: async (request) => {
        const response = await fetch(request);
        wire.push({ status: response.status, requestId: request.headers.get('x-request-id') });
        return response;
      },
      getUserToken: async () => {
        minted += 1;
        return mint();
      },
    });
    const start = be.clock.ms;
    for (let step = 0; be.clock.ms - start < SESSION_MS; step += 1) {
      const calls: Array<Promise<{ error?: unknown }>> = [pluct.balance()];
      if (step % 3 === 0) calls.push(pluct.ledger({ limit: 5 }));
      // Concurrent screens asking at once share one refresh.
      if (step % 4 === 0) calls.push(pluct.balance(), pluct.balance());
      if (step % 20 === 0) calls.push(pluct.vendToken());
      for (const result of await Promise.all(calls))
        expect(result.error, `at minute ${(be.clock.ms - start) / 60_000}`).toBeUndefined();
      be.clock.ms += STEP_MS;
    }
    expect(wire.length).toBeGreaterThan(200);
    expect(wire.filter((w) => w.status === 401)).toEqual([]);
    expect(wire.filter((w) => w.requestId?.includes('.retry'))).toEqual([]);
    // Refreshed with max(60 s, a third of 300 s) = 100 s to spare: about one token per 3.5 minutes, never one per request.
    expect(minted).toBeGreaterThanOrEqual(8);
    expect(minted).toBeLessThanOrEqual(11);
    expect(be.logs.filter((l) => l['code'] === 'token_expired')).toEqual([]);
  });

  it('a naive client (one token, replaced only after a 401) gets token_expired 401s that say which token expired when', async () => {
    const mint = mintFor('naive-session-user');
    let token = await mint();
    const rejections: Array<{ error: unknown; requestId: string; exp: number; atMs: number }> = [];
    const start = be.clock.ms;
    for (let step = 0; be.clock.ms - start < SESSION_MS; step += 1) {
      const requestId = `req_naive_${String(step).padStart(4, '0')}`;
      const send = (id: string) =>
        be.client.GET('/v1/credits/balance', {
          headers: { ...be.bearer(token), 'X-Request-ID': id, 'User-Agent': 'NaiveApp/1.0' },
        });
      const first = await send(requestId);
      if (first.response.status === 401) {
        rejections.push({ error: first.error, requestId, exp: decodeJwt(token).exp as number, atMs: be.clock.ms });
        token = await mint();
        expect((await send(`${requestId}.retry1`)).response.status).toBe(200);
      }
      be.clock.ms += STEP_MS;
    }
    // About one per token lifetime plus the 30 s tolerance.
    expect(rejections.length).toBeGreaterThanOrEqual(4);
    for (const r of rejections) {
      expect(r.error).toMatchObject({
        code: 'token_expired',
        status: 401,
        requestId: r.requestId,
        responsibility: 'caller',
        guidance: expect.stringContaining('Refresh ahead of expiry'),
        detail: `The token expired ${Math.round(r.atMs / 1000 - r.exp)} seconds ago.`,
        details: {
          credential: 'user_jwt',
          expiredAt: new Date(r.exp * 1000).toISOString(),
          serverTime: new Date(r.atMs).toISOString(),
          clockToleranceSec: 30,
        },
      });
      // The engine's log line has the context the incident lacked: endpoint, client, code, subject and the expiry.
      const line = be.logs.find((l) => l['requestId'] === r.requestId && l['code'] === 'token_expired');
      expect(line, r.requestId).toMatchObject({
        level: 40,
        status: 401,
        route: 'getCreditBalance',
        userAgent: 'NaiveApp/1.0',
        details: { expiredAt: new Date(r.exp * 1000).toISOString(), serverTime: new Date(r.atMs).toISOString() },
        // Who the token claimed to be and how long ago it expired, decoded without trusting it.
        credential: {
          kind: 'user_jwt',
          claimedSubject: 'naive-session-user',
          expiresAt: new Date(r.exp * 1000).toISOString(),
          expiresInSec: r.exp - Math.round(r.atMs / 1000),
        },
      });
    }
  });
});
