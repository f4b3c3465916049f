import type { EngineAuthKey } from '../../../server/protocol/engine-auth.js';
import type { SecretMixup } from '../../../server/protocol/engine-auth-secret.js';
import type { Check } from './check.js';
import { judgeClockSkew, judgeKeyIds } from './key-and-clock.js';
import type { Facts, Probe } from './facts.js';
import { judgeReplicas } from './replica-sampling.js';

export type { Check };

/** The local TTT_SHARED_SECRET as doctor found it: parsed keys, or why it could not be used. */
export interface LocalSecret {
  /** Where it came from, for messages ("your environment", "/repo/.env"). */
  readonly where: string;
  readonly keys?: readonly EngineAuthKey[];
  readonly problem?: {
    readonly variable: string;
    readonly message: string;
    readonly hint: string;
    readonly mixup: SecretMixup | undefined;
    /** The key id of the 32 bytes a mis-encoded value holds, when it decodes to 32 bytes. */
    readonly decodedKeyId?: string;
  };
}

const START_FIX =
  'Start it (locally: npm start, or npm run start:engine / start:ttt) and check the URL. If it exits at start, ' +
  'its first log lines name the variable and the rule it breaks (a missing or malformed TTT_SHARED_SECRET stops both services).';

function reachability(
  name: string,
  label: string,
  url: string,
  probe: Probe<{ service: string }>,
  expected: string,
): Check {
  if (!probe.ok) return { name, status: 'fail', detail: `${label} at ${url} ${probe.reason}.`, fix: START_FIX };
  if (probe.value.service !== expected) {
    return {
      name,
      status: 'fail',
      detail: `${url} answered as '${probe.value.service}', not ${expected}.`,
      fix: 'Check --engine and --ttt (are they swapped?).',
    };
  }
  return { name, status: 'pass', detail: `${label} answered GET /health in ${probe.rttMs} ms.` };
}

/**
 * Turns the gathered facts and the local secret into the doctor's checks, each failure with its fix. Pure: no I/O.
 *
 * @example
 * const checks = judge(facts, { engineUrl, tttUrl, local: localSecret });
 * const failed = checks.some((c) => c.status === 'fail');
 */
export function judge(
  facts: Facts,
  context: { engineUrl: string; tttUrl: string; local: LocalSecret | undefined; envFile?: string },
): Check[] {
  const { local } = context;
  const checks: Check[] = [
    reachability('engine_reachable', 'The Business Engine', context.engineUrl, facts.engineHealth, 'business-engine'),
    reachability('ttt_reachable', 'TTTranscribe', context.tttUrl, facts.tttHealth, 'tttranscribe'),
  ];

  if (facts.tttHealth.ok) {
    const t = facts.tttHealth.value.transcriber;
    checks.push(
      t.available
        ? {
            name: 'ttt_transcriber',
            status: 'pass',
            detail: `Speech engine ${t.engine}${t.model ? ` (${t.model})` : ''} is available.`,
          }
        : {
            name: 'ttt_transcriber',
            status: 'warn',
            detail: `No speech engine is available (${t.engine}): ${t.reason ?? 'no reason given'}. Jobs will fail with transcription_engine_unavailable.`,
            fix: 'On the TTTranscribe host: run npm start as root or with password-less sudo to install ffmpeg, pocketsphinx and pocketsphinx-en-us, or install them with apt-get; or configure another engine (docs/speech-engines.md).',
          },
    );
  }

  checks.push(localSecretCheck(local, facts, context.envFile));
  checks.push(judgeKeyIds(facts, local?.keys));
  if (facts.replicas) checks.push(judgeReplicas(facts.replicas));
  checks.push(judgeClockSkew(facts));
  checks.push(integrationCheck(facts));
  checks.push(signedProbeCheck(facts, local));
  checks.push(userTokenCheck(facts));
  return checks;
}

function localSecretCheck(local: LocalSecret | undefined, facts: Facts, envFile: string | undefined): Check {
  if (!local && envFile) {
    return {
      name: 'local_secret',
      status: 'warn',
      detail: `${envFile} has no TTT_SHARED_SECRET: a service started with it refuses to start (and an engine without it could not sign X-Engine-Auth).`,
      fix: `Add one with \`npx pluct secret new >> ${envFile}\` and give both services the same value.`,
    };
  }
  if (!local) {
    return {
      name: 'local_secret',
      status: 'skip',
      detail:
        'No TTT_SHARED_SECRET in the environment or the local .env: the local key id comparison and the signed probe are skipped.',
    };
  }
  if (local.problem) {
    const { variable, mixup } = local.problem;
    const looks = mixup
      ? `${variable} in ${local.where} looks like ${mixup.kind === 'standard-base64' ? 'standard base64 of the key' : mixup.looksLike}; use the tttsk_ form.`
      : local.problem.message;
    const decoded = local.problem.decodedKeyId;
    const users = [
      facts.engineAuthInfo.ok && facts.engineAuthInfo.value.acceptedKeyIds.includes(decoded ?? '')
        ? 'TTTranscribe accepts it'
        : undefined,
      facts.integration.ok && (facts.integration.value.engineKeyIds ?? []).includes(decoded ?? '')
        ? 'the engine signs with it'
        : undefined,
    ].filter(Boolean);
    const decodedNote = decoded
      ? ` It decodes to 32 bytes with key id ${decoded}${users.length > 0 ? ` (${users.join(' and ')}): only the encoding is wrong` : ''}.`
      : '';
    return {
      name: 'local_secret',
      status: 'fail',
      detail: `${looks}${decodedNote}`,
      fix: mixup?.fix ?? local.problem.hint,
      data: { variable, rule: mixup?.kind ?? 'format', ...(decoded ? { decodedKeyId: decoded } : {}) },
    };
  }
  const ids = (local.keys ?? []).map((k) => k.keyId);
  return {
    name: 'local_secret',
    status: 'pass',
    detail: `TTT_SHARED_SECRET in ${local.where} has key id ${ids.join(', ')}.`,
    data: { keyIds: ids },
  };
}

function integrationCheck(facts: Facts): Check {
  const probe = facts.integration;
  if (!probe.ok) {
    if (!facts.engineHealth.ok)
      return {
        name: 'engine_integration',
        status: 'skip',
        detail: 'Not checked: the Business Engine is not reachable.',
      };
    return {
      name: 'engine_integration',
      status: 'fail',
      detail: `GET /health/ttt-integration ${probe.reason}.`,
      fix: 'Read the engine logs for this request.',
    };
  }
  const report = probe.value;
  const children: Check[] = report.checks.map((c) => ({
    name: c.name,
    status: c.ok ? 'pass' : 'fail',
    detail: c.detail,
    ...(c.ok || !c.fix ? {} : { fix: c.fix }),
  }));
  const failing = report.checks.filter((c) => !c.ok).map((c) => c.name);
  return report.ok
    ? {
        name: 'engine_integration',
        status: 'pass',
        detail: `The engine's own ${report.checks.length} integration checks pass.`,
        children,
      }
    : {
        name: 'engine_integration',
        status: 'fail',
        detail: `The engine's integration check fails: ${failing.join(', ')}.`,
        fix: 'See the failing engine checks below.',
        children,
      };
}

function signedProbeCheck(facts: Facts, local: LocalSecret | undefined): Check {
  const probe = facts.signedProbe;
  if (!probe) {
    const why = local?.problem ? 'the local TTT_SHARED_SECRET is malformed' : 'no local TTT_SHARED_SECRET';
    return {
      name: 'signed_probe',
      status: 'skip',
      detail: `Not run: ${why} (the engine's own signed probe is under engine_integration).`,
    };
  }
  if (probe.ok) {
    return {
      name: 'signed_probe',
      status: 'pass',
      detail: `TTTranscribe accepted a probe signed here with the local secret (key id ${probe.value.keyId}).`,
    };
  }
  const d = probe.details ?? {};
  switch (probe.code) {
    case 'engine_auth_key_mismatch':
      return {
        name: 'signed_probe',
        status: 'fail',
        detail: `TTTranscribe refused the local key id ${list(d['receivedKeyIds'])}; it accepts ${list(d['acceptedKeyIds'])}.`,
        fix: "The local TTT_SHARED_SECRET is not the deployment's: see key_ids.",
      };
    case 'engine_auth_timestamp_skewed':
      return {
        name: 'signed_probe',
        status: 'fail',
        detail: `TTTranscribe refused the timestamp: this machine's clock is ${signedNumber(Number(d['receivedTime']) - Number(d['serverTime']))} s off its clock (tolerance ${String(d['toleranceSec'])} s).`,
        fix: "Synchronise this machine's clock (NTP); the services' clocks are under clock_skew.",
      };
    case 'invalid_engine_auth_header':
      return {
        name: 'signed_probe',
        status: 'fail',
        detail: `TTTranscribe says the signature does not match (${text(d['reason'], 'invalid')}).`,
        fix: 'Something between here and TTTranscribe rewrites the path or body (a proxy prefix?), or the secrets differ: compare with `pluct sign`.',
      };
    default:
      return {
        name: 'signed_probe',
        status: 'fail',
        detail: `POST /test/validate-engine-auth ${probe.reason}${probe.detail ? `: ${probe.detail}` : ''}.`,
        fix: 'Check that --ttt points at TTTranscribe.',
      };
  }
}

function userTokenCheck(facts: Facts): Check {
  const probe = facts.userToken;
  if (!probe)
    return {
      name: 'user_jwt_secret',
      status: 'skip',
      detail: 'Not run: no local USER_JWT_SECRET (or USER_JWT_JWKS_URL is set).',
    };
  if (probe.ok || probe.code === 'insufficient_scope') {
    return {
      name: 'user_jwt_secret',
      status: 'pass',
      detail: 'The engine verifies a user token signed with the local USER_JWT_SECRET.',
    };
  }
  if (probe.code === 'invalid_token') {
    const by = probe.instance ? ` (answered by replica ${probe.instance})` : '';
    return {
      name: 'user_jwt_secret',
      status: 'fail',
      detail: `The engine${by} refused a user token signed with the local USER_JWT_SECRET (invalid_token, ${text(probe.details?.['reason'], 'unverifiable')}): the engine's USER_JWT_SECRET differs from the token issuer's.`,
      fix: 'Give the token issuer and the engine the same USER_JWT_SECRET, used as raw text on both sides (never base64-decoded on one side only).',
    };
  }
  if (probe.code === 'token_not_yet_valid' || probe.code === 'token_expired') {
    return {
      name: 'user_jwt_secret',
      status: 'fail',
      detail: `The engine refused a fresh token as ${probe.code}: this machine's clock and the engine's differ.`,
      fix: 'Synchronise clocks (NTP).',
    };
  }
  if (!probe.status)
    return { name: 'user_jwt_secret', status: 'skip', detail: `Not checked: the engine ${probe.reason}.` };
  return {
    name: 'user_jwt_secret',
    status: 'fail',
    detail: `GET /v1/credits/ledger with a local dev token ${probe.reason}${probe.detail ? `: ${probe.detail}` : ''}.`,
    fix: 'Read the error code in the error catalog.',
  };
}

function signedNumber(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function list(value: unknown): string {
  return Array.isArray(value) ? value.join(', ') : text(value, '?');
}

/** A field of a problem body as text: a string as it is, anything else as JSON, `fallback` when absent. */
function text(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
