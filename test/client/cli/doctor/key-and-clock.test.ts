import { describe, expect, it } from 'vitest';
import type { EngineAuthKey } from '../../../../server/protocol/engine-auth.js';
import { judgeClockSkew, judgeKeyIds } from '../../../../client/cli/doctor/key-and-clock.js';
import type { Facts, Probe } from '../../../../client/cli/doctor/probes.js';

const T = Date.parse('2026-11-23T10:00:00.000Z');
const key = (keyId: string) => ({ keyId, key: new Uint8Array(32) }) as EngineAuthKey;
const ok = <V>(value: V, localMidMs = T): Probe<V> => ({ ok: true, value, status: 200, rttMs: 2, localMidMs });
const down: Probe<never> = { ok: false, reason: 'connection refused (nothing listens there)' };

function facts(o: { engine?: string[] | null; ttt?: string[] | null; engineClock?: number; tttClock?: number }): Facts {
  const build = { version: '1', node: 'v20' };
  return {
    engineHealth: ok({
      ok: true,
      service: 'business-engine',
      build,
      uptimeSec: 1,
      serverTime: new Date(o.engineClock ?? T).toISOString(),
    }),
    tttHealth: ok({
      ok: true,
      service: 'tttranscribe',
      build,
      uptimeSec: 1,
      serverTime: new Date(o.tttClock ?? T).toISOString(),
      transcriber: { engine: 'x', model: null, available: true, reason: null },
      jobs: { queued: 0, processing: 0 },
    }),
    engineAuthInfo:
      o.ttt === null
        ? down
        : ok({
            ok: true,
            version: 'v1',
            acceptedKeyIds: o.ttt ?? ['aaaaaaaaaaaaaaaa'],
            toleranceSec: 300,
            replayWindowSec: 600,
            serverTime: Math.floor((o.tttClock ?? T) / 1000),
          }),
    integration:
      o.engine === null
        ? down
        : ok({
            ok: true,
            engineKeyIds: o.engine ?? ['aaaaaaaaaaaaaaaa'],
            checks: [],
            checkedAt: new Date(T).toISOString(),
          }),
    signedProbe: undefined,
    userToken: undefined,
  };
}

describe('judgeKeyIds', () => {
  const A = 'aaaaaaaaaaaaaaaa';
  const B = 'bbbbbbbbbbbbbbbb';
  const C = 'cccccccccccccccc';
  it('passes when the engine key id is accepted and the local one matches', () => {
    expect(judgeKeyIds(facts({ engine: [A], ttt: [A] }), [key(A)]).status).toBe('pass');
    expect(judgeKeyIds(facts({ engine: [A, B], ttt: [B] }), undefined).status).toBe('pass'); // mid-rotation
  });
  it('names the engine as the side that differs when local matches TTTranscribe', () => {
    const check = judgeKeyIds(facts({ engine: [B], ttt: [A] }), [key(A)]);
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('the engine differs');
    expect(check.fix).toContain(`Set the engine's TTT_SHARED_SECRET to the local value (key id ${A})`);
  });
  it('names TTTranscribe when local matches the engine, and neither when local matches nothing', () => {
    expect(judgeKeyIds(facts({ engine: [A], ttt: [B] }), [key(A)]).detail).toContain('TTTranscribe differs');
    const neither = judgeKeyIds(facts({ engine: [A], ttt: [B] }), [key(C)]);
    expect(neither.detail).toContain(`the local secret (${C}) matches neither`);
    expect(neither.fix).toContain('pluct secret new');
    expect(judgeKeyIds(facts({ engine: [A], ttt: [B] }), undefined).detail).toContain(
      'the two services hold different TTT_SHARED_SECRET values',
    );
  });
  it('warns when only the local secret is stale, and compares local with TTTranscribe when the engine cannot say', () => {
    expect(judgeKeyIds(facts({ engine: [A], ttt: [A] }), [key(C)]).status).toBe('warn');
    expect(judgeKeyIds(facts({ engine: null, ttt: [A] }), [key(C)]).status).toBe('fail');
    expect(judgeKeyIds(facts({ engine: null, ttt: null }), [key(C)]).status).toBe('skip');
  });
});

describe('judgeClockSkew', () => {
  it('fails beyond the X-Engine-Auth tolerance, warns on drift, passes when close', () => {
    const far = judgeClockSkew(facts({ engineClock: T + 412_000 }));
    expect(far.status).toBe('fail');
    expect(far.detail).toContain('+412 s');
    expect(far.data).toMatchObject({ engineMinusTttSec: 412, localMinusTttSec: 0, toleranceSec: 300 });
    expect(judgeClockSkew(facts({ tttClock: T + 90_000 })).status).toBe('warn');
    expect(judgeClockSkew(facts({ engineClock: T + 2_000 })).status).toBe('pass');
  });
  it("notes this machine's own skew", () => {
    const check = judgeClockSkew(facts({ engineClock: T + 400_000, tttClock: T + 400_000 }));
    expect(check.status).toBe('warn');
    expect(check.detail).toContain("This machine's clock is -400 s off TTTranscribe's.");
  });
});
