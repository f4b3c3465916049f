import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { buildStringToSign, sha256Hex, type EngineAuthKey } from '../../../../server/protocol/engine-auth.js';
import { startTttTestApp, T0_MS, TEST_KEY, TEST_KEY_NEXT, type TttTestApp } from '../../../helpers/ttt-app.js';
import {
  ENGINE_AUTH_VECTORS_URL,
  type EngineAuthVector,
  type EngineAuthVectorsFile,
} from '../../../../server/protocol/test-vectors.js';

const ENGINE_AUTH_CODES = [
  'missing_engine_auth_header',
  'invalid_engine_auth_header',
  'engine_auth_key_mismatch',
  'engine_auth_timestamp_skewed',
  'engine_auth_replayed',
];
const JOB_ID = 'job_0000000000000000000000TEST';
const NONCE = 'cmVwbGF5LW5vbmNlLTAwMQ';
const OTHER_KEY = parseSharedSecret('TTT_SHARED_SECRET', generateSharedSecret());

// One app per accepted key set (building the validator is the slow part); each test resets the frozen clock.
const apps = new Map<string, Promise<TttTestApp>>();
afterAll(async () => {
  await Promise.all([...apps.values()].map(async (t) => (await t).close()));
});

async function app(keys: EngineAuthKey[] = [TEST_KEY], startMs = T0_MS): Promise<TttTestApp> {
  const id = keys.map((k) => k.keyId).join(',');
  if (!apps.has(id)) apps.set(id, startTttTestApp({ keys }));
  const t = await (apps.get(id) as Promise<TttTestApp>);
  t.clock.ms = startMs;
  return t;
}

/** Probes POST /test/validate-engine-auth with a client that signs as told. */
async function probe(t: TttTestApp, sign: Parameters<TttTestApp['clientWith']>[0] = {}) {
  // The spec's probe body is any JSON object; the generated type is an empty record, hence the cast.
  return t
    .clientWith(sign)
    .POST('/test/validate-engine-auth', { body: { probe: true } as unknown as Record<string, never> });
}

describe('X-Engine-Auth on every protected operation', () => {
  it('accepts a correctly signed probe and names the key id that verified', async () => {
    const t = await app();
    const { data, error, response } = await probe(t);
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data).toEqual({ ok: true, valid: true, keyId: TEST_KEY.keyId, serverTime: T0_MS / 1000 });
  });

  it.each([
    [
      'POST /transcribe',
      (t: TttTestApp) => t.clientWith({ keys: null }).POST('/transcribe', { body: { url: 'https://a.example/x.mp3' } }),
    ],
    [
      'GET /status/{jobId}',
      (t: TttTestApp) => t.clientWith({ keys: null }).GET('/status/{jobId}', { params: { path: { jobId: JOB_ID } } }),
    ],
    [
      'POST /test/validate-engine-auth',
      (t: TttTestApp) => t.clientWith({ keys: null }).POST('/test/validate-engine-auth', { body: {} }),
    ],
  ])('%s without the header -> 401 missing_engine_auth_header', async (_name, call) => {
    const t = await app();
    const { error, response } = await call(t);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'missing_engine_auth_header',
      status: 401,
      responsibility: 'gateway',
      details: { header: 'X-Engine-Auth', acceptedVersions: ['v1'] },
    });
    expect(error?.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('a malformed header -> invalid_engine_auth_header (reason malformed), never echoing the header', async () => {
    const t = await app();
    let sent = '';
    const { error, response } = await probe(t, { mutate: (h) => (sent = h.replace(';n=', ';nonce=')) });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'invalid_engine_auth_header', details: { reason: 'malformed' } });
    expect(JSON.stringify(error)).not.toContain(sent.split(':').at(-1));
  });

  it('another version -> invalid_engine_auth_header (reason unsupported_version)', async () => {
    const t = await app();
    const { error } = await probe(t, { mutate: (h) => h.replace(/^v1;/, 'v2;') });
    expect(error).toMatchObject({ code: 'invalid_engine_auth_header', details: { reason: 'unsupported_version' } });
  });

  it('a wrong signature -> invalid_engine_auth_header (signature_mismatch) with the server string to sign (hashes only)', async () => {
    const t = await app();
    const { error } = await probe(t, { target: '/test/validate-engine-auth?x=1' });
    expect(error).toMatchObject({
      code: 'invalid_engine_auth_header',
      details: { reason: 'signature_mismatch', checkedKeyIds: [TEST_KEY.keyId] },
    });
    const stringToSign = String(error?.details['stringToSign']);
    const [, timestamp, nonce] = stringToSign.split('\n');
    expect(stringToSign).toBe(
      buildStringToSign({
        timestamp: Number(timestamp),
        nonce: String(nonce),
        method: 'POST',
        target: '/test/validate-engine-auth',
        body: '{"probe":true}',
        bearerToken: undefined,
      }),
    );
    expect(stringToSign.split('\n')[7]).toBe(sha256Hex(''));
  });

  it('a signature under a key id it does not hold -> engine_auth_key_mismatch listing both sides', async () => {
    const t = await app();
    const { error, response } = await probe(t, { keys: [OTHER_KEY] });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'engine_auth_key_mismatch',
      responsibility: 'operator',
      details: { receivedKeyIds: [OTHER_KEY.keyId], acceptedKeyIds: [TEST_KEY.keyId] },
    });
  });

  it('a timestamp 301 s off (frozen clock) -> engine_auth_timestamp_skewed with both times; 300 s passes', async () => {
    const t = await app();
    const skewed = await probe(t, { now: () => t.clock.ms - 301_000 });
    expect(skewed.error).toMatchObject({
      code: 'engine_auth_timestamp_skewed',
      details: { serverTime: T0_MS / 1000, receivedTime: T0_MS / 1000 - 301, toleranceSec: 300 },
    });
    const ahead = await probe(t, { now: () => t.clock.ms + 301_000 });
    expect(ahead.error?.code).toBe('engine_auth_timestamp_skewed');
    const edge = await probe(t, { now: () => t.clock.ms + 300_000 });
    expect(edge.response.status).toBe(200);
  });

  it('a replayed nonce -> engine_auth_replayed within the 600 s window, accepted again after it', async () => {
    const t = await app();
    expect((await probe(t, { nonce: NONCE })).response.status).toBe(200);
    const replay = await probe(t, { nonce: NONCE });
    expect(replay.error).toMatchObject({
      code: 'engine_auth_replayed',
      responsibility: 'gateway',
      details: { replayWindowSec: 600 },
    });
    t.clock.ms += 599_000;
    expect((await probe(t, { nonce: NONCE })).error?.code).toBe('engine_auth_replayed');
    t.clock.ms += 2_000;
    expect((await probe(t, { nonce: NONCE })).response.status).toBe(200);
  });

  it('X-Request-ID: a well-formed one is echoed and repeated in the error; a malformed one is replaced', async () => {
    const t = await app();
    const given = await t
      .clientWith({ keys: null })
      .POST('/test/validate-engine-auth', { body: {}, headers: { 'X-Request-ID': 'req-from-engine-0001' } });
    expect(given.response.headers.get('x-request-id')).toBe('req-from-engine-0001');
    expect(given.error?.requestId).toBe('req-from-engine-0001');
    const bad = await t
      .clientWith({ keys: null })
      .POST('/test/validate-engine-auth', { body: {}, headers: { 'X-Request-ID': 'bad id!' } });
    expect(bad.response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(bad.error?.requestId).toBe(bad.response.headers.get('x-request-id'));
  });
});

describe('key rotation (TTT_SHARED_SECRET / TTT_SHARED_SECRET_NEXT)', () => {
  it.each([
    ['old key only', [TEST_KEY], [TEST_KEY], TEST_KEY.keyId],
    ['signer holds old and new', [TEST_KEY], [TEST_KEY, TEST_KEY_NEXT], TEST_KEY.keyId],
    ['server holds both, signer old', [TEST_KEY, TEST_KEY_NEXT], [TEST_KEY], TEST_KEY.keyId],
    ['server holds both, signer new', [TEST_KEY, TEST_KEY_NEXT], [TEST_KEY_NEXT], TEST_KEY_NEXT.keyId],
    ['server switched to new, signer holds both', [TEST_KEY_NEXT], [TEST_KEY, TEST_KEY_NEXT], TEST_KEY_NEXT.keyId],
  ])('%s -> verifies with the matching key id', async (_name, serverKeys, signerKeys, keyId) => {
    const t = await app(serverKeys);
    const { data } = await probe(t, { keys: signerKeys });
    expect(data?.keyId).toBe(keyId);
  });

  it('server switched to new, signer still old -> engine_auth_key_mismatch', async () => {
    const t = await app([TEST_KEY_NEXT]);
    const { error } = await probe(t, { keys: [TEST_KEY] });
    expect(error).toMatchObject({
      code: 'engine_auth_key_mismatch',
      details: { receivedKeyIds: [TEST_KEY.keyId], acceptedKeyIds: [TEST_KEY_NEXT.keyId] },
    });
  });
});

const { vectors } = JSON.parse(readFileSync(ENGINE_AUTH_VECTORS_URL, 'utf8')) as EngineAuthVectorsFile;

/** What each vector's request meets after X-Engine-Auth passes (its bearer is not a real service token). */
const AFTER_ENGINE_AUTH: Record<string, { status: number; code?: string }> = {
  'POST /transcribe': { status: 401, code: 'invalid_token' },
  'GET /status': { status: 400, code: 'invalid_request' },
  'GET /health': { status: 200 },
  'DELETE /jobs': { status: 404, code: 'not_found' },
};

describe('spec test vectors, sent to the running app byte for byte', () => {
  const send = (t: TttTestApp, v: EngineAuthVector, header: string) =>
    fetch(t.baseUrl + v.target, {
      method: v.method,
      headers: {
        'X-Engine-Auth': header,
        ...(v.bearerToken === null ? {} : { Authorization: `Bearer ${v.bearerToken}` }),
        ...(v.body === '' ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(v.body === '' ? {} : { body: v.body }),
    });

  it.each(vectors.map((v) => [v.name, v] as const))(
    '%s: passes X-Engine-Auth; a one-character change does not',
    async (_name, v) => {
      const t = await app(
        v.secrets.map((s) => parseSharedSecret('TTT_SHARED_SECRET', s)),
        v.timestamp * 1000,
      );
      const expected = AFTER_ENGINE_AUTH[`${v.method} /${v.target.split(/[/?]/)[1]}`];
      expect(expected).toBeDefined();
      const response = await send(t, v, v.header);
      const body = (await response.json()) as { code?: string };
      expect(ENGINE_AUTH_CODES).not.toContain(body.code);
      expect({ status: response.status, code: body.code }).toEqual(expected);

      // Change the last character of every signature, so no key can verify.
      const tamperedHeader = v.header.replace(
        /:([A-Za-z0-9_-]+)(?=,|$)/g,
        (_m, sig: string) => `:${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`,
      );
      const tampered = await send(t, v, tamperedHeader);
      const tamperedBody = (await tampered.json()) as { code?: string };
      if (v.target === '/health' || v.target.startsWith('/jobs/')) expect(tamperedBody.code).toBe(body.code);
      else expect(tamperedBody.code).toBe('invalid_engine_auth_header');
    },
  );
});
