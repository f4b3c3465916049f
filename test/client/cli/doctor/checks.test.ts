import { describe, expect, it } from 'vitest';
import { judge, type Check } from '../../../../client/cli/doctor/checks.js';
import type { Facts, Probe } from '../../../../client/cli/doctor/probes.js';
import { explainSecretMixup } from '../../../../server/protocol/engine-auth-secret.js';

const T = Date.parse('2026-11-23T10:00:00.000Z');
const A = 'aaaaaaaaaaaaaaaa';
const ok = <V>(value: V): Probe<V> => ({ ok: true, value, status: 200, rttMs: 3, localMidMs: T });
const build = { version: '1', node: 'v20' };

function facts(overrides: Partial<Facts> = {}): Facts {
  return {
    engineHealth: ok({
      ok: true,
      service: 'business-engine',
      build,
      uptimeSec: 1,
      serverTime: new Date(T).toISOString(),
    }),
    tttHealth: ok({
      ok: true,
      service: 'tttranscribe',
      build,
      uptimeSec: 1,
      serverTime: new Date(T).toISOString(),
      transcriber: { engine: 'pocketsphinx', model: null, available: false, reason: 'pocketsphinx is not installed' },
      jobs: { queued: 0, processing: 0 },
    }),
    engineAuthInfo: ok({
      ok: true,
      version: 'v1',
      acceptedKeyIds: [A],
      toleranceSec: 300,
      replayWindowSec: 600,
      serverTime: T / 1000,
    }),
    integration: ok({
      ok: false,
      engineKeyIds: [A],
      checkedAt: new Date(T).toISOString(),
      checks: [
        {
          name: 'shared_secret_configured',
          ok: true,
          detail: `TTT_SHARED_SECRET is configured (key id ${A}).`,
          fix: null,
        },
        {
          name: 'signed_probe',
          ok: false,
          detail: 'TTTranscribe answered 401 engine_auth_replayed.',
          fix: "Read TTTranscribe's logs.",
        },
      ],
    }),
    signedProbe: undefined,
    userToken: undefined,
    ...overrides,
  };
}
const byName = (checks: Check[], name: string) => checks.find((c) => c.name === name) as Check;
const context = { engineUrl: 'http://engine', tttUrl: 'http://ttt' };

describe('judge', () => {
  it("lists the engine's own integration checks under engine_integration, with their fixes", () => {
    const check = byName(judge(facts(), { ...context, local: undefined }), 'engine_integration');
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('signed_probe');
    expect(check.children?.map((c) => `${c.status} ${c.name}`)).toEqual([
      'pass shared_secret_configured',
      'fail signed_probe',
    ]);
    expect(check.children?.[1]?.fix).toBe("Read TTTranscribe's logs.");
  });

  it('warns (does not fail) when TTTranscribe has no speech engine, naming the reason', () => {
    const check = byName(judge(facts(), { ...context, local: undefined }), 'ttt_transcriber');
    expect(check).toMatchObject({ status: 'warn' });
    expect(check.detail).toContain('pocketsphinx is not installed');
    expect(check.fix).toMatch(/npm start .*pocketsphinx-en-us.*docs\/speech-engines\.md/);
  });

  it('names the speech engine in use and its model when it is available (e.g. whisper.cpp through the command engine)', () => {
    const health = facts().tttHealth;
    if (!health.ok) throw new Error('fixture');
    const tttHealth = ok({
      ...health.value,
      transcriber: { engine: 'whisper-cli', model: 'base.en', available: true, reason: null },
    });
    const check = byName(judge(facts({ tttHealth }), { ...context, local: undefined }), 'ttt_transcriber');
    expect(check).toMatchObject({ status: 'pass', detail: 'Speech engine whisper-cli (base.en) is available.' });
  });

  it('flags a local .env without TTT_SHARED_SECRET (the missing-secret incident)', () => {
    const check = byName(judge(facts(), { ...context, local: undefined, envFile: '/repo/.env' }), 'local_secret');
    expect(check.status).toBe('warn');
    expect(check.detail).toContain('/repo/.env has no TTT_SHARED_SECRET');
    expect(check.fix).toContain('npx pluct secret new >> /repo/.env');
    expect(byName(judge(facts(), { ...context, local: undefined }), 'local_secret').status).toBe('skip');
  });

  it('explains a hex-encoded local secret and whether its bytes are the deployed key', () => {
    const hex = 'ab'.repeat(32);
    const local = {
      where: '/repo/.env',
      problem: {
        variable: 'TTT_SHARED_SECRET',
        message: 'm',
        hint: 'h',
        mixup: explainSecretMixup(hex),
        decodedKeyId: A,
      },
    };
    const check = byName(judge(facts(), { ...context, local }), 'local_secret');
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('TTT_SHARED_SECRET in /repo/.env looks like hex (32 bytes); use the tttsk_ form.');
    expect(check.detail).toContain(
      `key id ${A} (TTTranscribe accepts it and the engine signs with it): only the encoding is wrong`,
    );
    expect(check.fix).toContain('base64url');
  });

  it('says the engine holds another USER_JWT_SECRET when it refuses a locally signed user token', () => {
    const userToken: Probe<unknown> = {
      ok: false,
      status: 401,
      code: 'invalid_token',
      reason: 'answered 401 invalid_token',
      details: { reason: 'signature_invalid' },
    };
    const check = byName(judge(facts({ userToken }), { ...context, local: undefined }), 'user_jwt_secret');
    expect(check.status).toBe('fail');
    expect(check.detail).toContain("the engine's USER_JWT_SECRET differs from the token issuer's");
    expect(check.fix).toContain('raw text on both sides');
  });

  it('names the replica that refused the token, and judges the sampled replicas, behind a load balancer', () => {
    const userToken: Probe<unknown> = {
      ok: false,
      status: 401,
      code: 'invalid_token',
      reason: 'answered 401 invalid_token',
      details: { reason: 'signature_invalid' },
      instance: 'engine-2',
    };
    const replicas = {
      engines: new Map([['engine-1', { userJwt: 'u1', serviceToken: 's', tttSharedSecret: [A] }]]),
      ttts: new Map([['ttt-1', [A]]]),
      tries: 12,
      unnamed: 0,
    };
    const checks = judge(facts({ userToken, replicas }), { ...context, local: undefined });
    expect(byName(checks, 'user_jwt_secret').detail).toMatch(/^The engine \(answered by replica engine-2\) refused/);
    expect(byName(checks, 'replica_key_ids').status).toBe('pass');
    expect(checks.map((c) => c.name).indexOf('replica_key_ids')).toBe(checks.map((c) => c.name).indexOf('key_ids') + 1);
  });

  it('recognises swapped URLs', () => {
    const engineHealth = ok({
      ok: true as const,
      service: 'tttranscribe' as never,
      build,
      uptimeSec: 1,
      serverTime: new Date(T).toISOString(),
    });
    const check = byName(judge(facts({ engineHealth }), { ...context, local: undefined }), 'engine_reachable');
    expect(check.status).toBe('fail');
    expect(check.fix).toContain('swapped');
  });
});
