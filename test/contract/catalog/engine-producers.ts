/**
 * Requests that make the real Business Engine answer each of its catalog codes, through the generated client
 * (a plain fetch only for what a typed client cannot send). Every scenario uses its own user ids, so the
 * order in which scenarios run does not matter.
 */
import { randomUUID } from 'node:crypto';
import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import { generateIntegrationToken } from '../../../server/business-engine/integrations/integration-token-format.js';
import { generateSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import type { EngineTestApp } from '../../helpers/engine-app.js';
import type { Observed } from './catalog-problem.js';
import type { CatalogWorld } from './catalog-world.js';
import { observe, observeFetch } from './observe.js';

const BE = 'business-engine';
const MEDIA_URL = 'https://media.example.com/clip.mp4';
const nowSec = (be: EngineTestApp) => Math.floor(be.clock.ms / 1000);
const uniqueSub = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** Vends a service token for `sub` through the generated client. */
async function vend(be: EngineTestApp, sub: string): Promise<{ token: string; tokenId: string }> {
  const { data, error } = await be.client.POST('/v1/vend-token', {
    body: { clientRequestId: randomUUID() },
    headers: be.bearer(await be.userJwt({ sub })),
  });
  if (!data) throw new Error(`vend failed: ${JSON.stringify(error)}`);
  return data;
}

const submit = (be: EngineTestApp, token: string, url = MEDIA_URL) =>
  observe(BE, 'POST', be.client.POST('/ttt/transcribe', { body: { url }, headers: be.bearer(token) }));

/** Creates an integration token for `sub` (scope credits:read) with the user's JWT. */
async function integrationToken(
  be: EngineTestApp,
  sub: string,
  expiresInSec?: number,
): Promise<{ token: string; id: string }> {
  const body = {
    description: 'catalog reachability',
    scopes: ['credits:read'],
    ...(expiresInSec === undefined ? {} : { expiresInSec }),
  };
  const { data, error } = await be.client.POST('/v1/integrations/tokens', {
    body,
    headers: be.bearer(await be.userJwt({ sub })),
  });
  if (!data) throw new Error(`integration token creation failed: ${JSON.stringify(error)}`);
  return data;
}

const balanceWith = async (be: EngineTestApp, authorization: string) =>
  observe(BE, 'GET', be.client.GET('/v1/credits/balance', { headers: { Authorization: authorization } }));

/** One function per way of producing a code; each takes the world and returns what the engine answered. */
export const engine = {
  async noAuthorization(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return observe(BE, 'GET', be.client.GET('/v1/credits/balance'));
  },
  async basicAuthorization(w: CatalogWorld): Promise<Observed> {
    return balanceWith((await w.stack()).be, 'Basic dGVzdDp0ZXN0');
  },
  async jwtFromAnotherIssuer(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return balanceWith(be, `Bearer ${await be.userJwt({ secret: 'TEST-ONLY-another-issuers-user-jwt-secret-0000' })}`);
  },
  async expiredJwt(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return balanceWith(be, `Bearer ${await be.userJwt({ iat: nowSec(be) - 1900, exp: nowSec(be) - 1000 })}`);
  },
  async jwtNotYetValid(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return balanceWith(be, `Bearer ${await be.userJwt({ nbf: nowSec(be) + 600 })}`);
  },
  async jwtWithoutSub(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return balanceWith(be, `Bearer ${await be.userJwt({ sub: null })}`);
  },
  async readOnlyScopeVends(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const headers = be.bearer(await be.userJwt({ sub: uniqueSub('scope'), scope: 'credits:read' }));
    return observe(BE, 'POST', be.client.POST('/v1/vend-token', { body: { clientRequestId: randomUUID() }, headers }));
  },
  async vendForAnotherUser(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const headers = be.bearer(await be.userJwt({ sub: uniqueSub('mismatch') }));
    return observe(
      BE,
      'POST',
      be.client.POST('/v1/vend-token', { body: { clientRequestId: randomUUID(), userId: 'someone-else' }, headers }),
    );
  },
  async readAnotherUsersJob(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const { token } = await vend(be, uniqueSub('owner'));
    const submitted = await be.client.POST('/ttt/transcribe', { body: { url: MEDIA_URL }, headers: be.bearer(token) });
    if (!submitted.data) throw new Error(`submit failed: ${JSON.stringify(submitted.error)}`);
    const headers = be.bearer(await be.userJwt({ sub: uniqueSub('intruder') }));
    return observe(
      BE,
      'GET',
      be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId: submitted.data.jobId } }, headers }),
    );
  },
  async userJwtAsServiceToken(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return submit(be, await be.userJwt({ sub: uniqueSub('confused') }));
  },
  async submitTwice(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const { token } = await vend(be, uniqueSub('twice'));
    const first = await submit(be, token);
    if (first.status !== 202) throw new Error(`first submission answered ${first.status}`);
    return submit(be, token);
  },
  async submitRefundedToken(w: CatalogWorld): Promise<Observed> {
    const be = await w.engineWithoutTtt();
    const { token } = await vend(be, uniqueSub('revoked'));
    const first = await submit(be, token);
    if (first.status !== 503)
      throw new Error(`the first submission should have found TTTranscribe down, got ${first.status}`);
    return submit(be, token);
  },
  async sharedSecretAsBearer(w: CatalogWorld): Promise<Observed> {
    return balanceWith((await w.stack()).be, `Bearer ${generateSharedSecret()}`);
  },
  async vendWithoutKey(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const headers = be.bearer(await be.userJwt({ sub: uniqueSub('invalid') }));
    return observe(BE, 'POST', be.client.POST('/v1/vend-token', { body: {} as never, headers }));
  },
  async submitFtpUrl(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return submit(be, (await vend(be, uniqueSub('ftp'))).token, 'ftp://media.example.com/clip.mp4');
  },
  async oversizedBody(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return observe(
      BE,
      'POST',
      be.client.POST('/v1/vend-token', {
        body: { clientRequestId: 'x'.repeat(20_000) },
        headers: be.bearer(await be.userJwt()),
      }),
    );
  },
  async textBody(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const headers = { ...be.bearer(await be.userJwt({ sub: uniqueSub('text') })), 'Content-Type': 'text/plain' };
    return observeFetch(BE, be.baseUrl, 'POST', '/v1/vend-token', { headers, body: 'clientRequestId=abc' });
  },
  async missingV1Prefix(w: CatalogWorld): Promise<Observed> {
    return observeFetch(BE, (await w.stack()).be.baseUrl, 'GET', '/v1/credit/balance');
  },
  async unknownJob(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const headers = be.bearer(await be.userJwt());
    return observe(
      BE,
      'GET',
      be.client.GET('/ttt/status/{jobId}', { params: { path: { jobId: 'job_UNKNOWN0000000000' } }, headers }),
    );
  },
  async oversizedHeader(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    return observeFetch(BE, be.baseUrl, 'GET', '/v1/credits/balance', {
      headers: { Authorization: `Bearer ${'a'.repeat(100_000)}` },
    });
  },
  async deleteVend(w: CatalogWorld): Promise<Observed> {
    return observeFetch(BE, (await w.stack()).be.baseUrl, 'DELETE', '/v1/vend-token');
  },
  async vendPastTheBalance(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const sub = uniqueSub('broke');
    for (let i = 0; i < be.config.signupBonusCredits; i += 1) await vend(be, sub);
    return observe(
      BE,
      'POST',
      be.client.POST('/v1/vend-token', {
        body: { clientRequestId: randomUUID() },
        headers: be.bearer(await be.userJwt({ sub })),
      }),
    );
  },
  async reuseKeyWithAnotherBody(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.stack();
    const sub = uniqueSub('reuse');
    const headers = be.bearer(await be.userJwt({ sub }));
    const clientRequestId = randomUUID();
    await be.client.POST('/v1/vend-token', { body: { clientRequestId }, headers });
    return observe(BE, 'POST', be.client.POST('/v1/vend-token', { body: { clientRequestId, userId: sub }, headers }));
  },
  async sameKeyWhileInProgress(w: CatalogWorld): Promise<Observed> {
    // Another replica is in the middle of the vend with this key (it holds the key's transaction lock).
    const s = await w.postgresEngine();
    const sub = uniqueSub('in-progress');
    const body = { clientRequestId: randomUUID() };
    const release = await s.holdKey(sub, body.clientRequestId);
    try {
      return await observe(
        BE,
        'POST',
        s.be.client.POST('/v1/vend-token', { body, headers: s.be.bearer(await s.be.userJwt({ sub })) }),
      );
    } finally {
      await release();
    }
  },
  async vendOverTheRateLimit(w: CatalogWorld): Promise<Observed> {
    const s = await w.switchableEngine();
    const headers = s.be.bearer(await s.be.userJwt({ sub: uniqueSub('eager') }));
    const send = () =>
      observe(BE, 'POST', s.be.client.POST('/v1/vend-token', { body: { clientRequestId: randomUUID() }, headers }));
    for (;;) {
      const seen = await send();
      if (seen.status !== 200) return seen;
    }
  },
  async signerFails(w: CatalogWorld): Promise<Observed> {
    const s = await w.switchableEngine();
    s.mode = 'throw';
    try {
      const headers = s.be.bearer(await s.be.userJwt({ sub: uniqueSub('unsigned') }));
      return await observe(
        BE,
        'POST',
        s.be.client.POST('/v1/vend-token', { body: { clientRequestId: randomUUID() }, headers }),
      );
    } finally {
      s.mode = 'sign';
    }
  },
  async submitToMismatchedTtt(w: CatalogWorld): Promise<Observed> {
    const { be } = await w.mismatchedStack();
    return submit(be, (await vend(be, uniqueSub('mismatched'))).token);
  },
  async submitToBrokenTtt(w: CatalogWorld): Promise<Observed> {
    const pair = await w.brokenTtt();
    const client = createBusinessEngineClient({ baseUrl: pair.engine.url });
    const headers = { Authorization: `Bearer ${await pair.userJwt(uniqueSub('broken'))}` };
    const vended = await client.POST('/v1/vend-token', { body: { clientRequestId: randomUUID() }, headers });
    if (!vended.data) throw new Error(`vend failed: ${JSON.stringify(vended.error)}`);
    return observe(
      BE,
      'POST',
      client.POST('/ttt/transcribe', {
        body: { url: MEDIA_URL },
        headers: { Authorization: `Bearer ${vended.data.token}` },
      }),
    );
  },
  async submitToRefusedTtt(w: CatalogWorld): Promise<Observed> {
    const be = await w.engineWithoutTtt();
    return submit(be, (await vend(be, uniqueSub('refused'))).token);
  },
  async truncatedIntegrationToken(w: CatalogWorld): Promise<Observed> {
    return balanceWith(await w.integrationEngine(), `Bearer ${generateIntegrationToken().slice(0, 30)}`);
  },
  async integrationTokenNeverIssued(w: CatalogWorld): Promise<Observed> {
    return balanceWith(await w.integrationEngine(), `Bearer ${generateIntegrationToken()}`);
  },
  async revokedIntegrationToken(w: CatalogWorld): Promise<Observed> {
    const be = await w.integrationEngine();
    const sub = uniqueSub('revoker');
    const { token, id } = await integrationToken(be, sub);
    const revoked = await be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: id } },
      headers: be.bearer(await be.userJwt({ sub })),
    });
    if (revoked.response.status !== 204) throw new Error(`revocation answered ${revoked.response.status}`);
    return balanceWith(be, `Bearer ${token}`);
  },
  async expiredIntegrationToken(w: CatalogWorld): Promise<Observed> {
    const be = await w.integrationEngine();
    const { token } = await integrationToken(be, uniqueSub('expiring'), 60);
    be.clock.ms += 61_000;
    return balanceWith(be, `Bearer ${token}`);
  },
  async revokeUnknownIntegrationToken(w: CatalogWorld): Promise<Observed> {
    const be = await w.integrationEngine();
    const headers = be.bearer(await be.userJwt({ sub: uniqueSub('revoker') }));
    return observe(
      BE,
      'DELETE',
      be.client.DELETE('/v1/integrations/tokens/{tokenId}', {
        params: { path: { tokenId: 'itk_00000000000000000000000000' } },
        headers,
      }),
    );
  },
  async balanceWhileDraining(w: CatalogWorld): Promise<Observed> {
    const be = await w.drainingEngine();
    return observe(
      BE,
      'GET',
      be.client.GET('/v1/credits/balance', { headers: be.bearer(await be.userJwt({ sub: uniqueSub('draining') })) }),
    );
  },
  async submitToHangingTtt(w: CatalogWorld): Promise<Observed> {
    const pair = await w.hangingUpstream();
    return submit(pair.be, (await pair.vend(uniqueSub('hanging'))).token);
  },
};
