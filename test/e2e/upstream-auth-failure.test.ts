import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import type { components } from '../../generated/business-engine/schema.js';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack.js';

type IntegrationReport = components['schemas']['IntegrationReport'];

// The incident: the gateway and TTTranscribe hold different shared secrets. The app must see a 502 that names
// the upstream's refusal, get its credit back, and the integration check must pinpoint the key ids.
describe('a TTTranscribe configured with another secret', () => {
  let stack: EngineStack;
  const tttSecret = generateSharedSecret();
  beforeAll(async () => {
    stack = await startEngineStack({ tttSecret });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('yields 502 upstream_auth_failure (never a 401), refunds the credit and revokes the token', async () => {
    const { be } = stack;
    const user = be.bearer(await be.userJwt({ sub: 'mismatch-user' }));
    const vended = await be.client.POST('/v1/vend-token', { body: { clientRequestId: 'mismatch-1' }, headers: user });
    const service = be.bearer(vended.data!.token);
    const { error, response } = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: service,
    });
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_auth_failure',
      responsibility: 'operator',
      details: {
        upstream: 'tttranscribe',
        upstreamStatus: 401,
        upstreamCode: 'engine_auth_key_mismatch',
        upstreamMessage: expect.stringContaining(be.config.tttKeys[0]!.keyId),
        upstreamRequestId: error!.requestId,
        creditRefunded: true,
      },
    });
    const ledger = await be.client.GET('/v1/credits/ledger', { headers: user });
    expect(ledger.data?.entries[0]).toMatchObject({
      kind: 'refund',
      amount: 1,
      reason: 'upstream_auth_failure',
      tokenId: vended.data!.tokenId,
    });
    expect((await be.client.GET('/v1/credits/balance', { headers: user })).data?.balance).toBe(3);
    const again = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: service,
    });
    expect(again.error).toMatchObject({ code: 'service_token_revoked', details: { reason: 'upstream_auth_failure' } });
  });

  it('GET /health/ttt-integration answers 503 naming both key ids and the fix', async () => {
    const { be } = stack;
    const ours = be.config.tttKeys[0]!.keyId;
    const theirs = parseSharedSecret('TTT_SHARED_SECRET', tttSecret).keyId;
    const { error, response } = await be.client.GET('/health/ttt-integration');
    expect(response.status).toBe(503);
    // A 503 here is the same IntegrationReport body as the 200, not a problem.
    const report = error as unknown as IntegrationReport;
    expect(report).toMatchObject({ ok: false, engineKeyIds: [ours], tttAcceptedKeyIds: [theirs] });
    const checks = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(checks['shared_secret_configured']).toMatchObject({ ok: true });
    expect(checks['ttt_reachable']).toMatchObject({ ok: true });
    expect(checks['key_id_accepted']).toMatchObject({
      ok: false,
      detail: `TTTranscribe accepts key ids [${theirs}], not ${ours}.`,
      fix: expect.stringContaining('base64'),
    });
    expect(checks['signed_probe']).toMatchObject({
      ok: false,
      data: { upstreamStatus: 401, upstreamCode: 'engine_auth_key_mismatch' },
    });
    expect(checks['clock_skew']).toMatchObject({ ok: true });
    expect(JSON.stringify(report)).not.toContain(tttSecret);
    expect(JSON.stringify(report)).not.toContain(Buffer.from(be.config.tttKeys[0]!.key).toString('base64url'));
  });
});
