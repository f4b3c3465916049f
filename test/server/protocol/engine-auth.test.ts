import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import {
  bearerTokenFromAuthorization,
  constantTimeEqual,
  parseEngineAuthHeader,
  sha256Hex,
  signEngineAuth,
  type EngineAuthKey,
} from '../../../server/protocol/engine-auth.js';
import {
  createEngineAuthVerifier,
  createMemoryNonceStore,
  type EngineAuthRequest,
} from '../../../server/tttranscribe/auth/engine-auth-verifier.js';
import {
  ENGINE_AUTH_VECTORS_URL,
  type EngineAuthVector,
  type EngineAuthVectorsFile,
} from '../../../server/protocol/test-vectors.js';

const { vectors } = JSON.parse(readFileSync(ENGINE_AUTH_VECTORS_URL, 'utf8')) as EngineAuthVectorsFile;
const OLD = parseSharedSecret('TTT_SHARED_SECRET', 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
const NEW = parseSharedSecret('TTT_SHARED_SECRET_NEXT', 'tttsk_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8');
const T = 1767225600;
const REQ = {
  method: 'POST',
  target: '/transcribe?x=1',
  body: '{"url":"https://example.test/v/1"}',
  bearerToken: 'tok',
};

const keysOf = (v: EngineAuthVector): EngineAuthKey[] =>
  v.secrets.map((s) => parseSharedSecret('TTT_SHARED_SECRET', s));
const requestOf = (v: EngineAuthVector, header = v.header): EngineAuthRequest => ({
  header,
  method: v.method,
  target: v.target,
  body: v.body,
  bearerToken: v.bearerToken ?? undefined,
});
/** A verifier whose clock is `clock.sec` (whole seconds unless changed). */
function verifierAt(keys: EngineAuthKey[], sec = T, extra: { maxNonces?: number } = {}) {
  const clock = { ms: sec * 1000 };
  const nonces = createMemoryNonceStore(extra);
  return { clock, nonces, verifier: createEngineAuthVerifier({ keys, now: () => clock.ms, nonceStore: nonces }) };
}
const sign = (keys: EngineAuthKey[], sec = T, over: Partial<typeof REQ> & { nonce?: string } = {}) =>
  signEngineAuth({ keys, ...REQ, ...over, now: () => sec * 1000 }).header;

describe('test vectors (spec/shared/engine-auth-vectors.json)', () => {
  it('has the required cases', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(8);
    expect(vectors.some((v) => v.secrets.length === 2)).toBe(true);
    expect(vectors.some((v) => v.body === '' && v.bearerToken === null && v.method === 'GET')).toBe(true);
    expect(vectors.some((v) => /\P{ASCII}/u.test(v.body))).toBe(true);
    expect(vectors.some((v) => v.target.includes('%') && v.target.includes('?'))).toBe(true);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: kid, hashes, stringToSign, header, verify', async (_n, v) => {
    const keys = keysOf(v);
    expect(keys.map((k) => k.keyId)).toEqual(v.keyIds);
    expect(sha256Hex(v.body)).toBe(v.bodySha256);
    expect(sha256Hex(new TextEncoder().encode(v.body))).toBe(v.bodySha256);
    expect(sha256Hex(v.bearerToken ?? '')).toBe(v.tokenSha256);
    const signed = signEngineAuth({ ...requestOf(v), keys, now: () => v.timestamp * 1000, nonce: v.nonce });
    expect(signed).toEqual({ header: v.header, stringToSign: v.stringToSign, timestamp: v.timestamp, nonce: v.nonce });
    const { verifier } = verifierAt(keys, v.timestamp);
    expect(await verifier.verify(requestOf(v))).toEqual({ ok: true, keyId: v.keyIds[0] });
  });
});

describe('verification failures, in order', () => {
  it.each([undefined, ''])('missing header (%j) -> missing_engine_auth_header', async (header) => {
    const r = await verifierAt([OLD]).verifier.verify({ ...REQ, header });
    expect(r).toMatchObject({ ok: false, code: 'missing_engine_auth_header', details: { header: 'X-Engine-Auth' } });
  });

  const good = 'v1;t=1767225600;n=AAAAAAAAAAAAAAAAAAAAAA;sig=cfee8db761146f8b:abc';
  it.each([
    'garbage',
    'v1',
    'v1;t=1767225600;n=AAAAAAAAAAAAAAAAAAAAAA',
    `${good};x=1`,
    good.replace('t=', 't=0'),
    good.replace('t=1767225600', 't=now'),
    good.replace('n=AAAAAAAAAAAAAAAAAAAAAA', 'n=AAAA'),
    good.replace('cfee', 'CFEE'),
    good.replace('sig=', 'sig= '),
    good.replace(':abc', ''),
    `${good},cfee8db761146f8b:def`,
    good.replace(':abc', ':ab=c'),
    `${good}${',0000000000000000:a'.repeat(4)}`,
    `${good}${'a'.repeat(1024)}`,
    ' v1;t=1;n=AAAAAAAAAAAAAAAAAAAAAA;sig=cfee8db761146f8b:a',
  ])('malformed %j -> invalid_engine_auth_header/malformed', async (header) => {
    expect(parseEngineAuthHeader(header).ok).toBe(false);
    const r = await verifierAt([OLD]).verifier.verify({ ...REQ, header });
    expect(r).toMatchObject({ ok: false, code: 'invalid_engine_auth_header', details: { reason: 'malformed' } });
  });

  it('another version -> invalid_engine_auth_header/unsupported_version', async () => {
    const r = await verifierAt([OLD]).verifier.verify({ ...REQ, header: 'v2;anything' });
    expect(r).toMatchObject({
      ok: false,
      code: 'invalid_engine_auth_header',
      details: { reason: 'unsupported_version' },
    });
  });

  it.each([
    [300, true],
    [301, false],
    [-300, true],
    [-301, false],
  ])('server clock %is from t: accepted=%s, else engine_auth_timestamp_skewed', async (offset, accepted) => {
    const r = await verifierAt([OLD], T + offset).verifier.verify({ ...REQ, header: sign([OLD]) });
    if (accepted) expect(r).toEqual({ ok: true, keyId: OLD.keyId });
    else
      expect(r).toEqual({
        ok: false,
        code: 'engine_auth_timestamp_skewed',
        message: expect.stringContaining(`${Math.abs(offset)}s ${offset > 0 ? 'behind' : 'ahead of'}`),
        details: { serverTime: T + offset, receivedTime: T, toleranceSec: 300 },
      });
  });

  it('checks skew before the key id and the signature', async () => {
    const r = await verifierAt([NEW], T + 1000).verifier.verify({ ...REQ, header: sign([OLD]), method: 'PUT' });
    expect(r).toMatchObject({ code: 'engine_auth_timestamp_skewed' });
  });

  it.each([
    ['method', { method: 'PUT' }],
    ['target', { target: '/transcribe?x=2' }],
    ['body', { body: '{"url":"https://example.test/v/2"}' }],
    ['token', { bearerToken: 'other' }],
    ['token removed', { bearerToken: undefined }],
  ])(
    'tampered %s -> invalid_engine_auth_header/signature_mismatch with the server stringToSign',
    async (_n, change) => {
      const header = sign([OLD]);
      const r = await verifierAt([OLD]).verifier.verify({ ...REQ, header, ...change });
      const expected = signEngineAuth({
        keys: [OLD],
        ...REQ,
        ...change,
        now: () => T * 1000,
        nonce: header.split(';n=')[1]!.slice(0, 22),
      });
      expect(r).toMatchObject({
        ok: false,
        code: 'invalid_engine_auth_header',
        details: { reason: 'signature_mismatch', stringToSign: expected.stringToSign, checkedKeyIds: [OLD.keyId] },
      });
    },
  );

  it('a truncated or altered signature is a mismatch, not an exception', async () => {
    const header = sign([OLD]);
    const { verifier } = verifierAt([OLD]);
    for (const h of [
      header.slice(0, -5),
      `${header}AAAA`,
      header.replace(/:(.)/, (_m, c: string) => `:${c === 'A' ? 'B' : 'A'}`),
    ]) {
      expect(await verifier.verify({ ...REQ, header: h })).toMatchObject({
        code: 'invalid_engine_auth_header',
        details: { reason: 'signature_mismatch' },
      });
    }
  });

  it('lowercase method and Uint8Array body sign the same as their canonical forms', async () => {
    const { verifier } = verifierAt([OLD]);
    const header = signEngineAuth({
      keys: [OLD],
      ...REQ,
      method: 'post',
      body: new TextEncoder().encode(REQ.body),
      now: () => T * 1000,
    }).header;
    expect(await verifier.verify({ ...REQ, header })).toEqual({ ok: true, keyId: OLD.keyId });
  });
});

describe('replay protection', () => {
  it('rejects a nonce within 600 s and accepts it again after the window', async () => {
    const { clock, verifier } = verifierAt([OLD]);
    const nonce = 'cmVwbGF5LW5vbmNlLTAwMQ';
    expect(await verifier.verify({ ...REQ, header: sign([OLD], T, { nonce }) })).toEqual({
      ok: true,
      keyId: OLD.keyId,
    });
    expect(await verifier.verify({ ...REQ, header: sign([OLD], T, { nonce }) })).toMatchObject({
      code: 'engine_auth_replayed',
      details: { replayWindowSec: 600 },
    });
    clock.ms = (T + 599) * 1000; // a fresh timestamp re-using the nonce
    expect(await verifier.verify({ ...REQ, header: sign([OLD], T + 599, { nonce }) })).toMatchObject({
      code: 'engine_auth_replayed',
    });
    clock.ms = (T + 600) * 1000;
    expect(await verifier.verify({ ...REQ, header: sign([OLD], T + 600, { nonce }) })).toEqual({
      ok: true,
      keyId: OLD.keyId,
    });
  });

  it('remembers a nonce for as long as its timestamp passes the skew check', async () => {
    const { clock, verifier } = verifierAt([OLD], T - 300);
    const header = sign([OLD]);
    expect((await verifier.verify({ ...REQ, header })).ok).toBe(true);
    clock.ms = (T + 300) * 1000 + 999; // last instant t is accepted; seen 600.999 s ago
    expect(await verifier.verify({ ...REQ, header })).toMatchObject({ code: 'engine_auth_replayed' });
  });

  it('records nonces only after the signature verifies, and check() records nothing', async () => {
    const { verifier, nonces } = verifierAt([OLD]);
    const header = sign([OLD]);
    expect(await verifier.verify({ ...REQ, header, body: 'forged' })).toMatchObject({
      details: { reason: 'signature_mismatch' },
    });
    expect(await verifier.check({ ...REQ, header })).toEqual({ ok: true, keyId: OLD.keyId });
    expect(nonces.size).toBe(0);
    expect((await verifier.verify({ ...REQ, header })).ok).toBe(true);
    expect(await verifier.check({ ...REQ, header })).toMatchObject({ code: 'engine_auth_replayed' });
  });

  it('evicts expired entries and caps the cache (oldest dropped first)', async () => {
    const { clock, verifier, nonces } = verifierAt([OLD], T, { maxNonces: 2 });
    const headers = [1, 2, 3].map(() => sign([OLD]));
    for (const header of headers) expect((await verifier.verify({ ...REQ, header })).ok).toBe(true);
    expect(nonces.size).toBe(2);
    expect((await verifier.verify({ ...REQ, header: headers[0] })).ok).toBe(true); // forgotten: documented trade-off
    expect(await verifier.verify({ ...REQ, header: headers[2] })).toMatchObject({ code: 'engine_auth_replayed' });
    clock.ms = (T + 700) * 1000;
    expect((await verifier.verify({ ...REQ, header: sign([OLD], T + 700) })).ok).toBe(true);
    expect(nonces.size).toBe(1);
  });
});

describe('key rotation', () => {
  it.each([
    ['old only', [OLD], OLD.keyId],
    ['new only', [NEW], NEW.keyId],
    ['old and new', [OLD, NEW], OLD.keyId],
  ])('a verifier holding old+new accepts a header signed with %s', async (_n, keys, keyId) => {
    expect(await verifierAt([OLD, NEW]).verifier.verify({ ...REQ, header: sign(keys) })).toEqual({ ok: true, keyId });
  });

  it('a verifier with only the new key rejects old-only with both id lists, and accepts old+new', async () => {
    const { verifier } = verifierAt([NEW]);
    expect(verifier.acceptedKeyIds).toEqual([NEW.keyId]);
    expect(await verifier.verify({ ...REQ, header: sign([OLD]) })).toMatchObject({
      ok: false,
      code: 'engine_auth_key_mismatch',
      details: { receivedKeyIds: [OLD.keyId], acceptedKeyIds: [NEW.keyId] },
    });
    expect(await verifier.verify({ ...REQ, header: sign([OLD, NEW]) })).toEqual({ ok: true, keyId: NEW.keyId });
  });

  it('accepts when one of two matching signatures is wrong but the other is right', async () => {
    const header = sign([OLD, NEW]).replace(`${OLD.keyId}:`, `${OLD.keyId}:x`);
    expect(await verifierAt([OLD, NEW]).verifier.verify({ ...REQ, header })).toEqual({ ok: true, keyId: NEW.keyId });
  });
});

describe('helpers and signer input checks', () => {
  it('constantTimeEqual compares without throwing on length mismatch', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('abc', '')).toBe(false);
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });

  it('extracts bearer tokens', () => {
    expect(bearerTokenFromAuthorization('Bearer abc.def')).toBe('abc.def');
    expect(bearerTokenFromAuthorization('bearer abc')).toBe('abc');
    expect(bearerTokenFromAuthorization('Basic abc')).toBeUndefined();
    expect(bearerTokenFromAuthorization(undefined)).toBeUndefined();
  });

  it('uses a fresh 22-character nonce per call and rejects bad input', () => {
    const a = signEngineAuth({ keys: [OLD], ...REQ });
    expect(a.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(signEngineAuth({ keys: [OLD], ...REQ }).nonce).not.toBe(a.nonce);
    expect(() => signEngineAuth({ keys: [], ...REQ })).toThrow(TypeError);
    expect(() => signEngineAuth({ keys: [OLD], ...REQ, target: 'https://x.test/a' })).toThrow(/origin-form/);
    expect(() => signEngineAuth({ keys: [OLD], ...REQ, target: '/a b' })).toThrow(TypeError);
    expect(() => signEngineAuth({ keys: [OLD], ...REQ, method: 'GET\n' })).toThrow(TypeError);
    expect(() => signEngineAuth({ keys: [OLD], ...REQ, nonce: 'short' })).toThrow(TypeError);
    expect(() => createEngineAuthVerifier({ keys: [] })).toThrow(TypeError);
  });
});
