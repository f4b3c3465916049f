/**
 * Requests that make the real TTTranscribe answer each of its catalog codes, through the generated client
 * signing like the engine (or wrongly on purpose: no header, another key, a skewed clock, a reused nonce).
 */
import { randomBytes } from 'node:crypto';
import { generateSharedSecret, parseSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import { createServiceTokenIssuer, mintServiceToken, type MintOptions } from '../../helpers/service-tokens.js';
import type { TttTestApp } from '../../helpers/ttt-app.js';
import type { Observed } from './catalog-problem.js';
import type { CatalogWorld } from './catalog-world.js';
import { observe, observeFetch } from './observe.js';

const TTT = 'tttranscribe';
const MEDIA = { url: 'https://media.example.com/clip.mp4' };
const nowSec = (t: TttTestApp) => Math.floor(t.clock.ms / 1000);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

const transcribeWith = (t: TttTestApp, headers: Record<string, string>, body: { url: string } = MEDIA) =>
  observe(TTT, 'POST', t.client.POST('/transcribe', { body, headers }));

const withToken = async (t: TttTestApp, mint: MintOptions = {}, body: { url: string } = MEDIA) =>
  transcribeWith(t, bearer(await t.issuer.mint(mint)), body);

/** A signed probe: POST /test/validate-engine-auth, which checks nothing but X-Engine-Auth. */
const probe = (client: TttTestApp['client']) =>
  observe(TTT, 'POST', client.POST('/test/validate-engine-auth', { body: {} }));

/** One function per way of producing a code; each takes the world and returns what TTTranscribe answered. */
export const ttt = {
  async noAuthorization(w: CatalogWorld): Promise<Observed> {
    return transcribeWith(await w.ttt(), {});
  },
  async basicAuthorization(w: CatalogWorld): Promise<Observed> {
    return transcribeWith(await w.ttt(), { Authorization: 'Basic dGVzdDp0ZXN0' });
  },
  async forgedServiceToken(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    const stranger = await createServiceTokenIssuer();
    return transcribeWith(
      t,
      bearer(await mintServiceToken(stranger.privateKey, { kid: t.issuer.kid, now: () => t.clock.ms })),
    );
  },
  async expiredServiceToken(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return withToken(t, { iat: nowSec(t) - 2000, exp: nowSec(t) - 1100 });
  },
  async serviceTokenNotYetValid(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return withToken(t, { nbf: nowSec(t) + 600 });
  },
  async serviceTokenWithoutJti(w: CatalogWorld): Promise<Observed> {
    return withToken(await w.ttt(), { omit: ['jti'] });
  },
  async serviceTokenWithoutScope(w: CatalogWorld): Promise<Observed> {
    return withToken(await w.ttt(), { scope: 'credits:read' });
  },
  async submitTwice(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    const headers = bearer(await t.issuer.mint());
    const first = await transcribeWith(t, headers);
    if (first.status !== 202) throw new Error(`first submission answered ${first.status}`);
    return transcribeWith(t, headers);
  },
  async reuseIdempotencyKeyWithAnotherToken(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    const key = `catalog_key_${randomBytes(8).toString('hex')}`;
    const first = await transcribeWith(t, { ...bearer(await t.issuer.mint()), 'Idempotency-Key': key });
    if (first.status !== 202) throw new Error(`first submission answered ${first.status}`);
    return transcribeWith(t, { ...bearer(await t.issuer.mint()), 'Idempotency-Key': key });
  },
  async unsigned(w: CatalogWorld): Promise<Observed> {
    return probe((await w.ttt()).clientWith({ keys: null }));
  },
  async signedForAnotherTarget(w: CatalogWorld): Promise<Observed> {
    return probe((await w.ttt()).clientWith({ target: '/test/validate-engine-auth?tampered=1' }));
  },
  async signedWithAnotherKey(w: CatalogWorld): Promise<Observed> {
    return probe(
      (await w.ttt()).clientWith({ keys: [parseSharedSecret('TTT_SHARED_SECRET', generateSharedSecret())] }),
    );
  },
  async signedSevenMinutesAgo(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return probe(t.clientWith({ now: () => t.clock.ms - 420_000 }));
  },
  async replayedNonce(w: CatalogWorld): Promise<Observed> {
    const client = (await w.ttt()).clientWith({ nonce: randomBytes(16).toString('base64url') });
    const first = await probe(client);
    if (first.status !== 200) throw new Error(`the first probe answered ${first.status}`);
    return probe(client);
  },
  async emptyUrl(w: CatalogWorld): Promise<Observed> {
    return withToken(await w.ttt(), {}, { url: '' });
  },
  async ftpUrl(w: CatalogWorld): Promise<Observed> {
    return withToken(await w.ttt(), {}, { url: 'ftp://media.example.com/clip.mp4' });
  },
  async oversizedHeader(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return observeFetch(TTT, t.baseUrl, 'GET', '/health', { headers: { 'X-Engine-Auth': 'v'.repeat(100_000) } });
  },
  async oversizedBody(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return observe(
      TTT,
      'POST',
      t.client.POST('/test/validate-engine-auth', { body: { padding: 'x'.repeat(70 * 1024) } }),
    );
  },
  async textBody(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return observe(
      TTT,
      'POST',
      t.client.POST('/test/validate-engine-auth', {
        body: 'probe=1' as never,
        bodySerializer: (body: unknown) => String(body),
        headers: { 'Content-Type': 'text/plain' },
      }),
    );
  },
  async unknownPath(w: CatalogWorld): Promise<Observed> {
    return observeFetch(TTT, (await w.ttt()).baseUrl, 'GET', '/v1/transcribe');
  },
  async unknownJob(w: CatalogWorld): Promise<Observed> {
    const t = await w.ttt();
    return observe(
      TTT,
      'GET',
      t.client.GET('/status/{jobId}', { params: { path: { jobId: 'job_UNKNOWN0000000000' } } }),
    );
  },
  async deleteTranscribe(w: CatalogWorld): Promise<Observed> {
    return observeFetch(TTT, (await w.ttt()).baseUrl, 'DELETE', '/transcribe');
  },
  async readWithClosedDatabase(w: CatalogWorld): Promise<Observed> {
    const { ttt: broken } = await w.brokenTtt();
    return observe(
      TTT,
      'GET',
      broken.client.GET('/status/{jobId}', { params: { path: { jobId: 'job_ANY000000000000' } } }),
    );
  },
  async submitWhileJwksUnreachable(w: CatalogWorld): Promise<Observed> {
    return withToken(await w.tttWithoutJwks());
  },
};
