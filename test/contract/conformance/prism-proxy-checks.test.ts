// What the proxy-based conformance run relies on: Prism (proxy --errors) turns a response that breaks the spec
// into a failure the tests see, and an X-Engine-Auth signature survives the proxy because Prism forwards the
// same target and, for canonical JSON, the same body bytes (it re-serialises JSON bodies).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTttranscribeClient } from '../../../generated/tttranscribe/client.js';
import { ENGINE_AUTH_HEADER, signEngineAuth } from '../../../server/protocol/engine-auth.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { engineAuthSigner, startTttTestApp, TEST_KEY, type TttTestApp } from '../../helpers/ttt-app.js';
import { prismViolations, startPrismProxy, type PrismProxy } from '../support/prism-proxy.js';
import { createResponseChecker } from '../support/response-checker.js';

const SPEC = 'generated/tttranscribe/openapi.json';
const check = createResponseChecker(JSON.parse(readFileSync(SPEC, 'utf8')) as OpenApiDocument);
let ttt: TttTestApp;
let proxy: PrismProxy;
let broken: Server;
let brokenProxy: PrismProxy;

const cleanup = createCleanupStack();
beforeAll(async () => {
  ttt = await startTttTestApp();
  cleanup.defer(() => ttt.close());
  // An upstream whose /health breaks the TTTranscribe spec (most required members missing).
  broken = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-request-id', 'req_0123456789abcdef');
    res.end(JSON.stringify({ ok: true, service: 'tttranscribe' }));
  });
  cleanup.defer(() => new Promise<void>((resolve) => broken.close(() => resolve())));
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  [proxy, brokenProxy] = await Promise.all([
    startPrismProxy({ spec: SPEC, upstream: ttt.baseUrl }),
    startPrismProxy({ spec: SPEC, upstream: `http://127.0.0.1:${(broken.address() as AddressInfo).port}` }),
  ]);
  cleanup.defer(() => Promise.all([proxy.stop(), brokenProxy.stop()]));
}, 120_000);
afterAll(() => cleanup.run());

function signedProbe(body: string) {
  const { header } = signEngineAuth({
    keys: [TEST_KEY],
    method: 'POST',
    target: '/test/validate-engine-auth',
    body,
    bearerToken: undefined,
    now: () => ttt.clock.ms,
  });
  return { method: 'POST', body, headers: { 'content-type': 'application/json', [ENGINE_AUTH_HEADER]: header } };
}

describe('prism proxy --errors', () => {
  it('fails a response that breaks the spec, naming the missing members', async () => {
    const response = await fetch(`${brokenProxy.url}/health`);
    const body = await response.text();
    expect(response.status).toBe(500);
    expect(prismViolations({ headers: response.headers, body }).join('\n')).toMatch(/required property 'build'/);
    // Prism logs the violation just after answering.
    await expect.poll(() => brokenProxy.errors().join('\n'), { timeout: 10_000 }).toMatch(/prism\/errors#VIOLATIONS/);
    const direct = await fetch(`http://127.0.0.1:${(broken.address() as AddressInfo).port}/health`);
    expect(
      check({ method: 'GET', path: '/health', status: 200, headers: direct.headers, body: await direct.text() }).map(
        (v) => v.pointer,
      ),
    ).toEqual(expect.arrayContaining(['/body/build', '/body/transcriber', '/body/jobs']));
  });

  it('forwards a signed request so X-Engine-Auth still verifies behind it', async () => {
    const client = createTttranscribeClient({ baseUrl: proxy.url });
    client.use(engineAuthSigner({ keys: [TEST_KEY], now: () => ttt.clock.ms }));
    const { data, response } = await client.POST('/test/validate-engine-auth', {
      body: { probe: true },
    });
    expect(response.headers.get('sl-violations')).toBeNull();
    expect(data).toMatchObject({ ok: true, valid: true, keyId: TEST_KEY.keyId });
    expect(proxy.errors()).toEqual([]);
  });

  it('re-serialises JSON bodies, so only a signature over canonical JSON survives it', async () => {
    const spaced = '{ "probe": true }';
    expect((await fetch(`${ttt.baseUrl}/test/validate-engine-auth`, signedProbe(spaced))).status).toBe(200);
    const behindProxy = await fetch(`${proxy.url}/test/validate-engine-auth`, signedProbe(spaced));
    expect(behindProxy.status).toBe(401);
    expect(await behindProxy.json()).toMatchObject({ code: 'invalid_engine_auth_header' });
    expect(
      (await fetch(`${proxy.url}/test/validate-engine-auth`, signedProbe(JSON.stringify({ probe: true })))).status,
    ).toBe(200);
    proxy.clearErrors();
  });
});
