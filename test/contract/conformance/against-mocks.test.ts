// Each side against the other's Prism mock: the engine's upstream client (the real engine, TTT_BASE_URL at a
// Prism mock of TTTranscribe) and the SDK (against a Prism mock of the engine). The mocks log every request that
// breaks the spec; none may appear. A request without X-Engine-Auth must fail at the TTTranscribe mock.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import { createTttranscribeClient } from '../../../generated/tttranscribe/client.js';
import { createPluctClient } from '../../../client/sdk/index.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { createServiceTokenIssuer, type ServiceTokenIssuer } from '../../helpers/service-tokens.js';
import { T0_MS } from '../../helpers/ttt-app.js';
import { startTestEngine, testUserJwt, type TestEngine } from '../support/contract-stack.js';
import { startPrismMock, type PrismProxy } from '../support/prism-proxy.js';
import { createResponseChecker, type Violation } from '../support/response-checker.js';

const engineSpec = JSON.parse(readFileSync('generated/business-engine/openapi.json', 'utf8')) as OpenApiDocument;
const checkEngine = createResponseChecker(engineSpec);
const JOB = 'job_01JD0000000000000000000000';
let tttMock: PrismProxy;
let engineMock: PrismProxy;
let engine: TestEngine;
let issuer: ServiceTokenIssuer;
const clock = { ms: T0_MS };
/** Prism logs a request's violations just after answering it: let the log catch up before reading it. */
const logged = async (mock: PrismProxy) => {
  await new Promise((resolve) => setTimeout(resolve, 500));
  return mock.errors();
};

const cleanup = createCleanupStack();
beforeAll(async () => {
  [tttMock, engineMock] = await Promise.all([
    startPrismMock({ spec: 'generated/tttranscribe/openapi.json' }),
    startPrismMock({ spec: 'generated/business-engine/openapi.json' }),
  ]);
  cleanup.defer(() => Promise.all([tttMock.stop(), engineMock.stop()]));
  issuer = await createServiceTokenIssuer({ now: () => clock.ms });
  engine = await startTestEngine({ tttBaseUrl: tttMock.url, issuer, now: () => clock.ms });
  cleanup.defer(() => engine.close());
}, 120_000);
afterAll(() => cleanup.run());

describe("the engine's upstream client against a Prism mock of TTTranscribe", () => {
  it('submits and reads a job with requests the TTTranscribe spec accepts', async () => {
    const client = createBusinessEngineClient({ baseUrl: engine.url });
    const jwt = { Authorization: `Bearer ${await testUserJwt(clock.ms)}` };
    const vended = await client.POST('/v1/vend-token', { body: { clientRequestId: 'mock-vend-1' }, headers: jwt });
    expect(vended.response.status).toBe(200);
    const submitted = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
      headers: { Authorization: `Bearer ${vended.data!.token}` },
    });
    expect(submitted.data).toMatchObject({ ok: true, jobId: JOB, status: 'queued' });
    const status = await client.GET('/ttt/status/{jobId}', { params: { path: { jobId: JOB } }, headers: jwt });
    expect(status.data).toMatchObject({ jobId: JOB, creditRefunded: false });
    expect(await logged(tttMock), 'requests the engine sent that break the TTTranscribe spec').toEqual([]);
  });

  it('sees a request without X-Engine-Auth fail at the mock, as at the real service', async () => {
    const raw = createTttranscribeClient({ baseUrl: tttMock.url });
    const { error, response } = await raw.POST('/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: { Authorization: `Bearer ${await issuer.mint()}` },
    });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'missing_engine_auth_header' });
    await expect
      .poll(() => tttMock.errors().join('\n'), { timeout: 10_000 })
      .toMatch(/Violation: request Invalid security scheme used/);
    tttMock.clearErrors();
  });
});

describe('the SDK against a Prism mock of the engine', () => {
  it('sends only requests the engine spec accepts, and parses every answer', async () => {
    const responses: Violation[] = [];
    const pluct = createPluctClient({
      baseUrl: engineMock.url,
      getUserToken: () => testUserJwt(Date.now()),
      fetch: async (request) => {
        const response = await fetch(request);
        const body = await response.clone().text();
        const violations = checkEngine({
          method: request.method,
          path: new URL(request.url).pathname,
          status: response.status,
          headers: response.headers,
          body,
        });
        responses.push(...violations);
        return response;
      },
    });
    expect((await pluct.balance()).data).toMatchObject({ ok: true, balance: 3 });
    expect((await pluct.ledger({ limit: 10 })).data?.entries.length).toBeGreaterThan(0);
    const vended = await pluct.vendToken();
    expect(vended.data?.token).toBeTruthy();
    expect(
      (await pluct.submit(vended.data!.token, { url: 'https://media.example.com/clip.mp4', language: 'en' })).data,
    ).toMatchObject({ jobId: JOB });
    expect((await pluct.status(JOB)).data).toMatchObject({ jobId: JOB, status: 'completed' });
    const outcome = await pluct.transcribe('https://media.example.com/clip.mp4');
    expect(outcome.error).toBeUndefined();
    expect(responses).toEqual([]);
    expect(await logged(engineMock), 'requests the SDK sent that break the engine spec').toEqual([]);
  });
});
