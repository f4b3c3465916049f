import type { EngineAuthKey } from '../../../server/protocol/engine-auth.js';
import type { Check } from './check.js';
import type { Facts } from './facts.js';

const SAME_SECRET_FIX = 'value must start with tttsk_ on both sides; never base64-encode or decode it on one side only';

/**
 * Compares the key ids of the engine (what it signs with), TTTranscribe (what it accepts) and the local secret,
 * and says which side differs when it can tell.
 *
 * @example
 * judgeKeyIds(facts, localKeys); // { name: 'key_ids', status: 'fail', detail: '… the engine differs …', fix: '…' }
 */
export function judgeKeyIds(facts: Facts, localKeys: readonly EngineAuthKey[] | undefined): Check {
  const name = 'key_ids';
  const engine = facts.integration.ok ? (facts.integration.value.engineKeyIds ?? []) : undefined;
  const ttt = facts.engineAuthInfo.ok ? facts.engineAuthInfo.value.acceptedKeyIds : undefined;
  const local = localKeys?.map((k) => k.keyId);
  const data = { engineKeyIds: engine ?? null, tttAcceptedKeyIds: ttt ?? null, localKeyIds: local ?? null };
  const fmt = (ids: readonly string[]) => (ids.length === 1 ? (ids[0] as string) : `[${ids.join(', ')}]`);
  const overlap = (a: readonly string[], b: readonly string[]) => a.some((id) => b.includes(id));

  if (ttt === undefined)
    return {
      name,
      status: 'skip',
      detail: "Not checked: TTTranscribe's /.well-known/engine-auth did not answer.",
      data,
    };
  if (engine === undefined || engine.length === 0) {
    if (local && !overlap(local, ttt)) {
      return {
        name,
        status: 'fail',
        detail: `TTTranscribe accepts ${fmt(ttt)}, but the local secret has key id ${fmt(local)} (the engine's key id is unknown: its integration report is unavailable).`,
        fix: `Give every side the same TTT_SHARED_SECRET (${SAME_SECRET_FIX}).`,
        data,
      };
    }
    return {
      name,
      status: 'skip',
      detail: `TTTranscribe accepts ${fmt(ttt)}; the engine's key id is unknown (its integration report is unavailable).`,
      data,
    };
  }

  const agree = overlap(engine, ttt);
  if (agree && (!local || overlap(local, ttt))) {
    return {
      name,
      status: 'pass',
      detail: `The engine signs with ${fmt(engine)}; TTTranscribe accepts ${fmt(ttt)}${local ? '; the local secret matches' : ''}.`,
      data,
    };
  }
  if (agree && local) {
    return {
      name,
      status: 'warn',
      detail: `The services agree (key id ${fmt(engine)}), but the local secret has key id ${fmt(local)}: it is not the deployment's secret, so probes signed here fail.`,
      fix: "Use the deployment's TTT_SHARED_SECRET locally (or ignore this when checking a remote deployment).",
      data,
    };
  }
  const mismatch = `The engine signs with key id ${fmt(engine)}, but TTTranscribe accepts ${fmt(ttt)}: the two services hold different TTT_SHARED_SECRET values`;
  if (local && overlap(local, ttt) && !overlap(local, engine)) {
    return {
      name,
      status: 'fail',
      detail: `${mismatch}. The local secret (${fmt(local)}) matches TTTranscribe: the engine differs.`,
      fix: `Set the engine's TTT_SHARED_SECRET to the local value (key id ${fmt(local)}) and restart it (${SAME_SECRET_FIX}).`,
      data,
    };
  }
  if (local && overlap(local, engine) && !overlap(local, ttt)) {
    return {
      name,
      status: 'fail',
      detail: `${mismatch}. The local secret (${fmt(local)}) matches the engine: TTTranscribe differs.`,
      fix: `Set TTTranscribe's TTT_SHARED_SECRET to the local value (key id ${fmt(local)}) and restart it (${SAME_SECRET_FIX}).`,
      data,
    };
  }
  return {
    name,
    status: 'fail',
    detail: `${mismatch}${local ? `; the local secret (${fmt(local)}) matches neither` : ''}.`,
    fix: `Choose one secret (pluct secret new) and set it as TTT_SHARED_SECRET on both services (${SAME_SECRET_FIX}).`,
    data,
  };
}

/**
 * Measures the clocks of both services against this machine's (each at the midpoint of its request) and judges
 * the engine-to-TTTranscribe skew against X-Engine-Auth's tolerance.
 *
 * @example
 * judgeClockSkew(facts).data; // { engineMinusTttSec: 0, localMinusTttSec: 0, toleranceSec: 300 }
 */
export function judgeClockSkew(facts: Facts): Check {
  const name = 'clock_skew';
  const tolerance = facts.engineAuthInfo.ok ? facts.engineAuthInfo.value.toleranceSec : 300;
  const tttOffset = facts.tttHealth.ok
    ? (Date.parse(facts.tttHealth.value.serverTime) - facts.tttHealth.localMidMs) / 1000
    : facts.engineAuthInfo.ok
      ? facts.engineAuthInfo.value.serverTime - facts.engineAuthInfo.localMidMs / 1000
      : undefined;
  const engineOffset = facts.engineHealth.ok
    ? (Date.parse(facts.engineHealth.value.serverTime) - facts.engineHealth.localMidMs) / 1000
    : undefined;
  if (tttOffset === undefined)
    return { name, status: 'skip', detail: "Not checked: TTTranscribe's clock could not be read." };
  const localMinusTtt = Math.round(-tttOffset) || 0;
  const data: Record<string, unknown> = { localMinusTttSec: localMinusTtt, toleranceSec: tolerance };
  const drift = Math.min(60, Math.floor(tolerance / 4));
  const localNote =
    Math.abs(localMinusTtt) > tolerance
      ? ` This machine's clock is ${signed(localMinusTtt)} s off TTTranscribe's.`
      : '';

  if (engineOffset === undefined) {
    return {
      name,
      status: localNote ? 'warn' : 'pass',
      detail: `The engine's clock could not be read; this machine is ${signed(localMinusTtt)} s from TTTranscribe.`,
      data,
    };
  }
  const engineMinusTtt = Math.round(engineOffset - tttOffset) || 0;
  data['engineMinusTttSec'] = engineMinusTtt;
  const detail = `Engine clock minus TTTranscribe clock: ${signed(engineMinusTtt)} s (X-Engine-Auth tolerance ${tolerance} s).`;
  if (Math.abs(engineMinusTtt) > tolerance) {
    return {
      name,
      status: 'fail',
      detail: `${detail} Every X-Engine-Auth header is refused as engine_auth_timestamp_skewed.${localNote}`,
      fix: "Synchronise both hosts' clocks with NTP (e.g. `timedatectl set-ntp true`), then re-run pluct doctor.",
      data,
    };
  }
  if (Math.abs(engineMinusTtt) > drift || localNote) {
    return {
      name,
      status: 'warn',
      detail: `${detail}${Math.abs(engineMinusTtt) > drift ? ' The clocks drift apart: fix them before they pass the tolerance.' : ''}${localNote}`,
      fix: 'Synchronise clocks with NTP.',
      data,
    };
  }
  return { name, status: 'pass', detail, data };
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}
