// Conformance through a third party: both real services run behind `prism proxy --errors`, the engine reaches
// TTTranscribe through TTTranscribe's proxy, and the end-to-end scenarios go through the engine's proxy with
// the generated client. Prism fails any request or response that breaks its spec; every response is also
// checked in-process (response validation on in both apps) and by the ajv response checker.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Middleware } from 'openapi-fetch';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBusinessEngineClient, type BusinessEngineClient } from '../../../generated/business-engine/client.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { TEST_SECRET } from '../../helpers/ttt-app.js';
import { startContractStack, TEST_ADMIN_TOKEN, type ContractStack } from '../support/contract-stack.js';
import { prismViolations } from '../support/prism-proxy.js';
import { createResponseChecker } from '../support/response-checker.js';

const check = createResponseChecker(
  JSON.parse(readFileSync('generated/business-engine/openapi.json', 'utf8')) as OpenApiDocument,
);
let stack: ContractStack;
let client: BusinessEngineClient;
const violations: string[] = [];

/** Records every violation Prism or the ajv checker finds in a response the client receives. */
const recorder: Middleware = {
  async onResponse({ request, response }) {
    const body = await response.clone().text();
    const path = new URL(request.url).pathname;
    for (const v of prismViolations({ headers: response.headers, body }))
      violations.push(`${request.method} ${path}: ${v}`);
    for (const v of check({ method: request.method, path, status: response.status, headers: response.headers, body })) {
      violations.push(`${request.method} ${path} -> ${response.status}: ${v.operationId} ${v.pointer} ${v.message}`);
    }
    return undefined;
  },
};
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

const cleanup = createCleanupStack();
beforeAll(async () => {
  stack = await startContractStack({ viaPrism: true });
  // Prism logs a violation just after answering, so its log is read once more when everything has run.
  cleanup.defer(async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const late = stack.proxies.flatMap((p) => p.errors());
    await stack.close();
    expect(late, 'violations Prism logged').toEqual([]);
  });
  client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
  client.use(recorder);
}, 120_000);
afterAll(() => cleanup.run());
afterEach((context) => {
  if (context.task.result?.state === 'fail') {
    for (const p of stack.proxies)
      console.error(`--- prism output (last lines) ---\n${p.output().split('\n').slice(-25).join('\n')}`);
  }
  const prism = stack.proxies.flatMap((p) => p.errors());
  stack.proxies.forEach((p) => p.clearErrors());
  const found = [...violations.splice(0), ...prism];
  expect(found, 'violations seen by Prism (engine and engine->TTTranscribe hops) or the ajv checker').toEqual([]);
});

async function vend(sub: string): Promise<string> {
  const { data, error } = await client.POST('/v1/vend-token', {
    body: { clientRequestId: randomUUID() },
    headers: bearer(await stack.userJwt({ sub })),
  });
  if (!data) throw new Error(`vend failed: ${JSON.stringify(error)}`);
  return data.token;
}

describe('both services behind prism proxy --errors', () => {
  it('serves health, the JWKS and a passing integration check (a signed probe crosses the TTTranscribe proxy)', async () => {
    expect((await client.GET('/health')).data).toMatchObject({ ok: true, service: 'business-engine' });
    expect((await client.GET('/.well-known/jwks.json')).data?.keys.map((k) => k.kid)).toEqual([stack.issuer.kid]);
    const { data, response } = await client.GET('/health/ttt-integration');
    expect(response.status).toBe(200);
    expect(data?.checks.map((c) => [c.name, c.ok])).toEqual([
      ['shared_secret_configured', true],
      ['ttt_reachable', true],
      ['key_id_accepted', true],
      ['signed_probe', true],
      ['clock_skew', true],
      ['service_token_verifies', true],
    ]);
  });

  it('vends once per clientRequestId and replays the first answer', async () => {
    const jwt = await stack.userJwt({ sub: 'proxy-user-vend' });
    expect((await client.GET('/v1/credits/balance', { headers: bearer(jwt) })).data).toMatchObject({
      balance: 3,
      bonus: 3,
      main: 0,
    });
    const body = { clientRequestId: 'proxy-vend-0001' };
    const first = await client.POST('/v1/vend-token', { body, headers: bearer(jwt) });
    const replay = await client.POST('/v1/vend-token', { body, headers: bearer(jwt) });
    expect(first.data).toMatchObject({ balanceAfter: 2 });
    expect(replay.data?.tokenId).toBe(first.data?.tokenId);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    const ledger = await client.GET('/v1/credits/ledger', { params: { query: { limit: 10 } }, headers: bearer(jwt) });
    expect(ledger.data?.entries.filter((e) => e.kind === 'charge')).toHaveLength(1);
  });

  it('submits a signed job through both proxies, then reads it queued and completed', async () => {
    const sub = 'proxy-user-job';
    const token = await vend(sub);
    const submitted = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
      headers: bearer(token),
    });
    expect(submitted.response.status).toBe(202);
    const jobId = submitted.data!.jobId;
    const path = { params: { path: { jobId } } };
    expect((await client.GET('/ttt/status/{jobId}', { ...path, headers: bearer(token) })).data).toMatchObject({
      status: 'queued',
      creditRefunded: false,
    });
    await stack.ttt.service.worker.drain();
    const done = await client.GET('/ttt/status/{jobId}', { ...path, headers: bearer(await stack.userJwt({ sub })) });
    expect(done.data).toMatchObject({
      jobId,
      status: 'completed',
      stage: 'done',
      transcript: 'and so the story begins',
      creditRefunded: false,
    });
    const again = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: bearer(token),
    });
    expect(again.error).toMatchObject({ code: 'service_token_already_used', status: 409 });
  });

  it('passes an unsupported URL on as 422 and lets the same token submit a corrected URL', async () => {
    const sub = 'proxy-user-url';
    const token = await vend(sub);
    const { error } = await client.POST('/ttt/transcribe', {
      body: { url: 'ftp://media.example.com/clip.mp4' },
      headers: bearer(token),
    });
    expect(error).toMatchObject({ code: 'unsupported_url', status: 422, responsibility: 'caller' });
    const corrected = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: bearer(token),
    });
    expect(corrected.response.status).toBe(202);
    expect(
      (await client.GET('/v1/credits/balance', { headers: bearer(await stack.userJwt({ sub })) })).data?.balance,
    ).toBe(2);
  });

  it('answers credential errors about the caller with catalog codes and details', async () => {
    const nowSec = Math.floor(stack.clock.ms / 1000);
    const expired = await client.GET('/v1/credits/balance', {
      headers: bearer(await stack.userJwt({ iat: nowSec - 2000, exp: nowSec - 1000 })),
    });
    expect(expired.error).toMatchObject({
      code: 'token_expired',
      details: { credential: 'user_jwt', clockToleranceSec: 30 },
    });
    const userOnProxy = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/a.mp4' },
      headers: bearer(await stack.userJwt()),
    });
    expect(userOnProxy.error).toMatchObject({ code: 'service_token_required', status: 401 });
    const secret = await client.GET('/v1/credits/balance', { headers: bearer(TEST_SECRET) });
    expect(secret.error).toMatchObject({
      code: 'credential_type_mismatch',
      details: { received: 'shared_secret', expected: 'user_jwt' },
    });
    expect(JSON.stringify(secret.error)).not.toContain(TEST_SECRET);
    const unknownJob = await client.GET('/ttt/status/{jobId}', {
      params: { path: { jobId: 'job_doesnotexist000' } },
      headers: bearer(await stack.userJwt()),
    });
    expect(unknownJob.error).toMatchObject({ code: 'job_not_found', status: 404 });
  });

  it('refuses a fourth token to a user with 3 credits, charging nothing', async () => {
    const jwt = await stack.userJwt({ sub: 'proxy-user-poor' });
    for (let i = 0; i < 3; i++)
      expect(
        (await client.POST('/v1/vend-token', { body: { clientRequestId: `poor-${i}` }, headers: bearer(jwt) })).response
          .status,
      ).toBe(200);
    const { error } = await client.POST('/v1/vend-token', {
      body: { clientRequestId: 'poor-3' },
      headers: bearer(jwt),
    });
    expect(error).toMatchObject({ code: 'insufficient_credits', status: 402 });
    expect((await client.GET('/v1/credits/balance', { headers: bearer(jwt) })).data?.balance).toBe(0);
  });

  it('lets the admin grant credits and read the redacted configuration', async () => {
    const granted = await client.POST('/admin/credits/grant', {
      body: { userId: 'proxy-user-poor', amount: 5, bucket: 'main', reason: 'proxy test' },
      headers: bearer(TEST_ADMIN_TOKEN),
    });
    expect(granted.data).toMatchObject({ balance: 5, main: 5 });
    const config = await client.GET('/admin/config', { headers: bearer(TEST_ADMIN_TOKEN) });
    expect(config.data?.secrets.find((s) => s.name === 'TTT_SHARED_SECRET')).toMatchObject({
      status: 'configured',
      keyId: stack.config.tttKeys[0]!.keyId,
    });
    expect(JSON.stringify(config.data)).not.toContain(TEST_SECRET);
    expect(JSON.stringify(config.data)).not.toContain(TEST_ADMIN_TOKEN);
    const wrong = await client.GET('/admin/config', { headers: bearer(await stack.userJwt()) });
    expect(wrong.error?.status).toBe(401);
  });
});
