/**
 * Issue 18: what an outside attack and independent tools found, replayed against the real services (createApp,
 * response validation on, frozen clocks): a malformed percent-encoding in a path id (500 before), two
 * Authorization or X-Engine-Auth headers (the first was read), user JWTs that claim to live for ever, the
 * headers every 401 and 405 must carry, a client that aborts its body (a 500 at error level before), and a JSON
 * body starting with a byte-order mark (accepted by some operations, refused by others before: now one rule).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_AUTH_HEADER, signEngineAuth } from '../../server/protocol/engine-auth.js';
import { listOperations, type OpenApiDocument } from '../../server/shared/http/operation-matcher.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';
import { startEngineTestApp, type EngineTestApp } from '../helpers/engine-app.js';
import { startTttTestApp, TEST_KEY, type TttTestApp } from '../helpers/ttt-app.js';

/** What came back from a raw request. */
interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown> | undefined;
}

/**
 * Sends a request with node:http, so a header may be repeated (each value its own line) and the path is sent as
 * written (fetch would not repeat Authorization, and a typed client would re-encode the path).
 */
function raw(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  body?: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { method }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (chunk: string) => (text += chunk))
        .on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
          });
        });
    });
    for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
    req.on('error', reject);
    req.end(body);
  });
}

let be: EngineTestApp;
let ttt: TttTestApp;
const cleanup = createCleanupStack();
beforeAll(async () => {
  [be, ttt] = await Promise.all([startEngineTestApp(), startTttTestApp()]);
  cleanup.defer(() => Promise.all([be.close(), ttt.close()]));
});
afterAll(() => cleanup.run());

/** Signs a request for TTTranscribe as the engine does. */
const signed = (method: string, target: string, bearerToken?: string) =>
  signEngineAuth({ keys: [TEST_KEY], method, target, body: Buffer.alloc(0), bearerToken, now: () => ttt.clock.ms })
    .header;

describe('issue 18.1: a malformed percent-encoding in a path id', () => {
  it('the engine answers 400 invalid_request naming the parameter, signed in or not', async () => {
    const jwt = await be.userJwt();
    for (const [method, path, pointer] of [
      ['GET', '/ttt/status/%ff%fe', '/path/jobId'],
      ['GET', '/ttt/status/job_%', '/path/jobId'],
      ['DELETE', '/v1/integrations/tokens/%ff', '/path/tokenId'],
    ] as const) {
      for (const headers of [{}, { Authorization: `Bearer ${jwt}` }] as Array<Record<string, string>>) {
        const answer = await raw(be.baseUrl, method, path, headers);
        expect(answer.status, `${method} ${path}`).toBe(400);
        expect(answer.body).toMatchObject({ code: 'invalid_request', details: { errors: [{ pointer }] } });
      }
    }
  });

  it('TTTranscribe answers 400 invalid_request naming the parameter, signed or not', async () => {
    for (const headers of [{}, { [ENGINE_AUTH_HEADER]: signed('GET', '/status/%ff%fe') }] as Array<
      Record<string, string>
    >) {
      const answer = await raw(ttt.baseUrl, 'GET', '/status/%ff%fe', headers);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'invalid_request', details: { errors: [{ pointer: '/path/jobId' }] } });
    }
  });
});

describe('issue 18.2: one credential per request', () => {
  it('the engine refuses two Authorization headers (two users, or a valid one then garbage) as malformed_authorization', async () => {
    const alice = await be.userJwt({ sub: 'alice-18' });
    const bob = await be.userJwt({ sub: 'bob-18' });
    for (const pair of [
      [alice, bob],
      [alice, 'garbage'],
    ]) {
      const answer = await raw(be.baseUrl, 'GET', '/v1/credits/balance', {
        Authorization: pair.map((t) => `Bearer ${t}`),
      });
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({
        code: 'malformed_authorization',
        details: { reason: 'several_values', expected: 'user_jwt' },
      });
    }
    // One of them alone is fine.
    expect((await raw(be.baseUrl, 'GET', '/v1/credits/balance', { Authorization: `Bearer ${alice}` })).status).toBe(
      200,
    );
  });

  it('TTTranscribe refuses two Authorization headers under a valid signature', async () => {
    const token = await ttt.issuer.mint();
    const answer = await raw(ttt.baseUrl, 'GET', '/status/job_01JD0000000000000000000000', {
      [ENGINE_AUTH_HEADER]: signed('GET', '/status/job_01JD0000000000000000000000', token),
      Authorization: [`Bearer ${token}`, 'Bearer garbage'],
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'malformed_authorization', details: { reason: 'several_values' } });
  });

  it('TTTranscribe refuses two X-Engine-Auth headers, even when the first verifies', async () => {
    const target = '/status/job_01JD0000000000000000000000';
    const answer = await raw(ttt.baseUrl, 'GET', target, {
      [ENGINE_AUTH_HEADER]: [signed('GET', target), signed('GET', target)],
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'invalid_engine_auth_header', details: { reason: 'several_values' } });
  });
});

describe('issue 18.10: a user JWT whose exp is far in the future', () => {
  it('the engine refuses exp 1e20 with invalid_token_claims naming exp, and accepts a 24 h token', async () => {
    const iat = Math.floor(be.clock.ms / 1000);
    const forever = await be.userJwt({ iat, exp: 1e20 });
    const { error, response } = await be.client.GET('/v1/credits/balance', { headers: be.bearer(forever) });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'invalid_token_claims',
      details: { credential: 'user_jwt', claim: 'exp', reason: 'lifetime_too_long', maxLifetimeSec: 86_400 },
    });
    const day = await be.userJwt({ iat, exp: iat + 86_400 });
    expect((await be.client.GET('/v1/credits/balance', { headers: be.bearer(day) })).response.status).toBe(200);
  });
});

describe('issue 18.7: every 401 says how to authenticate, every 405 what is allowed', () => {
  it('the engine sends a Bearer challenge (RFC 6750) on its 401s', async () => {
    expect((await raw(be.baseUrl, 'GET', '/v1/credits/balance')).headers['www-authenticate']).toBe(
      'Bearer realm="Business Engine"',
    );
    const expired = await be.userJwt({
      iat: Math.floor(be.clock.ms / 1000) - 3600,
      exp: Math.floor(be.clock.ms / 1000) - 1800,
    });
    const answer = await raw(be.baseUrl, 'GET', '/v1/credits/balance', { Authorization: `Bearer ${expired}` });
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toMatch(
      /^Bearer realm="Business Engine", error="invalid_token", error_description="[^"]+", pluct_code="token_expired"$/,
    );
  });

  it('TTTranscribe challenges with X-Engine-Auth for a signature failure and with Bearer for a service-token failure', async () => {
    const unsigned = await raw(ttt.baseUrl, 'GET', '/status/job_01JD0000000000000000000000');
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers['www-authenticate']).toMatch(
      /^X-Engine-Auth realm="TTTranscribe", version="v1", error="missing_engine_auth_header", error_description="/,
    );
    const body = JSON.stringify({ url: 'https://media.example.com/clip.mp4' });
    const header = signEngineAuth({
      keys: [TEST_KEY],
      method: 'POST',
      target: '/transcribe',
      body: Buffer.from(body),
      bearerToken: undefined,
      now: () => ttt.clock.ms,
    }).header;
    const noToken = await raw(
      ttt.baseUrl,
      'POST',
      '/transcribe',
      { [ENGINE_AUTH_HEADER]: header, 'content-type': 'application/json' },
      body,
    );
    expect(noToken.body).toMatchObject({ code: 'missing_authorization' });
    expect(noToken.headers['www-authenticate']).toBe('Bearer realm="TTTranscribe"');
  });

  it('both services send Allow with a 405', async () => {
    expect((await raw(be.baseUrl, 'DELETE', '/v1/vend-token')).headers['allow']).toBe('POST');
    expect((await raw(ttt.baseUrl, 'DELETE', '/transcribe')).headers['allow']).toBe('POST');
  });
});

/** Starts a request announcing 1000 body bytes, sends 10, then drops the connection. */
function abortBody(baseUrl: string, method: string, path: string, headers: Record<string, string>): void {
  const req = request(`${baseUrl}${path}`, {
    method,
    headers: { ...headers, 'content-type': 'application/json', 'content-length': '1000' },
  });
  req.on('error', () => undefined);
  req.write('{"clientRe', () => setImmediate(() => req.destroy()));
}

/** Waits (no timing assertion) until a log line matches. */
async function logged(
  logs: Array<Record<string, unknown>>,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i += 1) {
    const line = logs.find(match);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no such log line');
}

describe('issue 18.8: a client that aborts its request body', () => {
  it('the engine logs it once at info by name and counts it, with no 500 and no error line', async () => {
    abortBody(be.baseUrl, 'POST', '/v1/vend-token', {
      Authorization: `Bearer ${await be.userJwt({ sub: 'aborter-18' })}`,
    });
    const line = await logged(be.logs, (l) => l['event'] === 'client_aborted_request');
    expect(line).toMatchObject({
      level: 30,
      method: 'POST',
      route: 'vendToken',
      receivedBytes: 10,
      expectedBytes: 1000,
    });
    expect(be.logs.filter((l) => l['event'] === 'client_aborted_request')).toHaveLength(1);
    expect(be.logs.filter((l) => Number(l['level']) >= 50 || l['status'] === 500)).toEqual([]);
    const metrics = await be.engine.metrics.registry.getSingleMetricAsString('client_aborted_requests_total');
    expect(metrics).toContain(
      'client_aborted_requests_total{route="vendToken",method="POST",service="business-engine"} 1',
    );
  });

  it('TTTranscribe does the same while reading a signed body', async () => {
    abortBody(ttt.baseUrl, 'POST', '/transcribe', {
      [ENGINE_AUTH_HEADER]: signed('POST', '/transcribe'),
      Authorization: `Bearer ${await ttt.issuer.mint()}`,
    });
    const line = await logged(ttt.logs, (l) => l['event'] === 'client_aborted_request');
    expect(line).toMatchObject({ level: 30, method: 'POST', route: 'createTranscriptionJob' });
    expect(ttt.logs.filter((l) => Number(l['level']) >= 50 || l['status'] === 500)).toEqual([]);
    const metrics = await ttt.service.metrics.registry.getSingleMetricAsString('client_aborted_requests_total');
    expect(metrics).toContain(
      'client_aborted_requests_total{route="createTranscriptionJob",method="POST",service="tttranscribe"} 1',
    );
  });
});

describe('issue 18.9: one rule for a JSON body that starts with a byte-order mark', () => {
  const bodyTaking = (api: string) =>
    listOperations(JSON.parse(readFileSync(`generated/${api}/openapi.json`, 'utf8')) as OpenApiDocument).filter(
      (op) => op.hasRequestBody,
    );

  it('every body-taking operation of both services refuses it with invalid_request at /body', async () => {
    const targets = [
      ...bodyTaking('business-engine').map((op) => ({ op, baseUrl: be.baseUrl })),
      ...bodyTaking('tttranscribe').map((op) => ({ op, baseUrl: ttt.baseUrl })),
    ];
    expect(targets.map((t) => t.op.operationId)).toEqual(
      expect.arrayContaining(['vendToken', 'submitTranscription', 'createTranscriptionJob']),
    );
    const jwt = await be.userJwt({ sub: 'bom-18' });
    for (const { op, baseUrl } of targets) {
      const path = op.expressPath;
      const body = '\uFEFF{"clientRequestId":"bom-0001-0001","url":"https://media.example.com/clip.mp4"}';
      const headers: Record<string, string> = { 'content-type': 'application/json', Authorization: `Bearer ${jwt}` };
      if (baseUrl === ttt.baseUrl)
        headers[ENGINE_AUTH_HEADER] = signEngineAuth({
          keys: [TEST_KEY],
          method: op.method.toUpperCase(),
          target: path,
          body: Buffer.from(body),
          bearerToken: jwt,
          now: () => ttt.clock.ms,
        }).header;
      const answer = await raw(baseUrl, op.method.toUpperCase(), path, headers, body);
      expect(answer.status, op.operationId).toBe(400);
      expect(answer.body, op.operationId).toMatchObject({
        code: 'invalid_request',
        details: { errors: [{ pointer: '/body', message: 'must not start with a byte-order mark (U+FEFF)' }] },
      });
    }
  });
});
