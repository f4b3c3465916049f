import {
  SharedSecretError,
  engineAuthKeyId,
  engineAuthKeysFromEnv,
  explainSecretMixup,
} from '../../../server/protocol/engine-auth-secret.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, optionalString, type Command } from '../command.js';
import { DevTokenError, mintDevToken, parseTtl } from '../dev-token.js';
import { judge, type LocalSecret } from '../doctor/checks.js';
import { gatherFacts } from '../doctor/probes.js';
import { renderTable } from '../doctor/render.js';
import {
  DEFAULT_TTT_URL,
  ENGINE_OPTION,
  ENV_FILE_OPTION,
  engineUrl,
  loadLocalEnv,
  tttUrl,
  type LocalEnv,
} from '../local-env.js';

/**
 * `pluct doctor`: checks a deployment end to end from outside and prints each check with its fix.
 *
 * @example
 * // pluct doctor --engine https://engine.example.com --ttt https://ttt.example.com --json
 */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check a deployment end to end: reachability, key ids, clocks, signed probes.',
  usage: 'doctor [--engine <URL>] [--ttt <URL>] [--env-file <PATH>] [--timeout <DURATION>] [--samples <N>] [--json]',
  description: `
Checks both services from outside: that each answers /health; TTTranscribe's accepted key ids against the
key id the engine signs with (and the local TTT_SHARED_SECRET's, from the environment or .env, when there
is one), saying which side differs; the clocks of both against each other (X-Engine-Auth tolerance); the
engine's own /health/ttt-integration checks; a probe signed here with the local secret; and that the engine
verifies a user token signed with the local USER_JWT_SECRET (a ledger read for user 'pluct-doctor').
Behind a load balancer it samples the replicas (--samples requests per service, until every instance was
seen twice) and fails, naming the instance, when their key ids disagree (replica_key_ids).
Prints a table with the fix for each failure and exits 1 when any check fails. Never prints a secret.`,
  options: {
    engine: ENGINE_OPTION,
    ttt: {
      type: 'string',
      value: 'URL',
      description: `TTTranscribe (default: $PLUCT_TTT_URL, else 127.0.0.1 on $TTT_PORT, else ${DEFAULT_TTT_URL}).`,
    },
    'env-file': ENV_FILE_OPTION,
    timeout: { type: 'string', value: 'DURATION', description: 'Per-request time limit: seconds or 1m (default 5s).' },
    samples: {
      type: 'string',
      value: 'N',
      description: 'Requests per service to find the replicas behind a load balancer (default 12; 0 skips).',
    },
    json: { type: 'boolean', description: 'Print {"ok","engine","ttt","checks"} as JSON.' },
  },
  examples: ['pluct doctor', 'pluct doctor --engine https://engine.example.com --ttt https://ttt.internal:8788 --json'],
  async run(values, _positionals, io) {
    const engine = engineUrl(values, io);
    const ttt = optionalString(values, 'ttt')?.replace(/\/+$/, '') ?? tttUrl(io.env);
    const timeoutSec = parseTtl(optionalString(values, 'timeout') ?? '5');
    if (timeoutSec === undefined || timeoutSec < 1)
      throw new UsageError('--timeout must be a duration such as 5 or 30s.');
    const samplesText = optionalString(values, 'samples') ?? '12';
    const replicaSamples = Number(samplesText);
    if (!/^\d{1,3}$/.test(samplesText) || replicaSamples > 200)
      throw new UsageError('--samples must be a whole number from 0 to 200.');
    const local = loadLocalEnv(values, io);
    const localSecret = readLocalSecret(local);
    const devUserToken = await mintDevToken(local, { sub: 'pluct-doctor', ttlSec: 120, scope: 'credits:read' }).then(
      (t) => t.token,
      (error: unknown) => {
        if (error instanceof DevTokenError) return undefined;
        throw error;
      },
    );
    const facts = await gatherFacts({
      engineUrl: engine,
      tttUrl: ttt,
      timeoutMs: timeoutSec * 1000,
      localKeys: localSecret?.keys,
      devUserToken,
      now: () => Date.now(),
      replicaSamples,
    });
    const checks = judge(facts, {
      engineUrl: engine,
      tttUrl: ttt,
      local: localSecret,
      ...(local.fileFound ? { envFile: local.path } : {}),
    });
    const ok = !checks.some((c) => c.status === 'fail');
    io.out(
      values['json']
        ? `${JSON.stringify({ ok, engine, ttt, checks })}\n`
        : renderTable(checks, { tty: io.isTTY, engineUrl: engine, tttUrl: ttt }),
    );
    return ok ? EXIT_OK : EXIT_FAILURE;
  },
};

function readLocalSecret(local: LocalEnv): LocalSecret | undefined {
  const current = local.get('TTT_SHARED_SECRET');
  if (current === undefined) return undefined;
  const where = local.source('TTT_SHARED_SECRET') === 'environment' ? 'your environment' : local.path;
  const next = local.get('TTT_SHARED_SECRET_NEXT');
  try {
    return { where, keys: engineAuthKeysFromEnv({ TTT_SHARED_SECRET: current, TTT_SHARED_SECRET_NEXT: next }) };
  } catch (error) {
    if (!(error instanceof SharedSecretError)) throw error;
    const value = error.variable === 'TTT_SHARED_SECRET_NEXT' ? (next ?? '') : current;
    const mixup = explainSecretMixup(value);
    const decodedKeyId = mixup ? keyIdOfMixup(value, mixup.kind) : undefined;
    return {
      where,
      problem: {
        variable: error.variable,
        message: error.message,
        hint: error.hint,
        mixup,
        ...(decodedKeyId ? { decodedKeyId } : {}),
      },
    };
  }
}

// A mis-encoded secret may still hold the right 32 bytes: its key id then tells whether only the encoding is wrong.
function keyIdOfMixup(value: string, kind: string): string | undefined {
  const v = value.trim().replace(/^(["'])(.*)\1$/s, '$2');
  let bytes: Buffer | undefined;
  if (kind === 'hex') bytes = Buffer.from(v, 'hex');
  else if (kind === 'standard-base64' || kind === 'unprefixed-base64url') bytes = Buffer.from(v, 'base64');
  else if (kind === 'prefixed-standard-base64' || kind === 'whitespace' || kind === 'quoted')
    bytes = Buffer.from(v.replace(/^tttsk_/, ''), 'base64');
  return bytes?.length === 32 ? engineAuthKeyId(bytes) : undefined;
}
